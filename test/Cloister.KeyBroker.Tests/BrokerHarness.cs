using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Attestation.Simulated;
using Cloister.Crypto.Hpke;
using Cloister.Protocol;
using Cloister.Protocol.Attestation;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.KeyBroker.Tests;

/// <summary>
/// A real key broker (master key file, policy file reloaded from disk, audit file) in a temporary directory, and
/// a worker's side of the exchange done by hand (a simulated attester key, an HPKE key pair, claims and evidence
/// built here) so that tests can tamper with any part of it.
/// </summary>
internal sealed class BrokerHarness : IDisposable
{
    public static readonly string Measurement = Convert.ToHexStringLower(SHA384.HashData("harness worker"u8));

    public static readonly string OtherMeasurement = Convert.ToHexStringLower(SHA384.HashData("another worker"u8));

    private readonly bool _ownsDirectory;

    public BrokerHarness(string? directory = null, Func<BrokerHarness, AttestationPolicyFile>? policy = null, KeyBrokerOptions? options = null)
    {
        _ownsDirectory = directory is null;
        Directory = directory ?? System.IO.Directory.CreateTempSubdirectory("cloister-broker-").FullName;
        AttesterKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Attester = new SimulatedAttester(AttesterKey);
        Worker = HpkeKeyPair.Generate();
        WritePolicy(policy?.Invoke(this) ?? Policy());
        MasterKey = new FileMasterKeyProvider(new FileMasterKeyProviderOptions { DataDirectory = Directory });
        Broker = new KeyBrokerHost(MasterKey, ReleasePolicySource.FromFile(PolicyPath), (options ?? new KeyBrokerOptions { DataDirectory = Directory }) with
        {
            DataDirectory = Directory,
            Time = Clock,
        });
    }

    public string Directory { get; }

    public string PolicyPath => Path.Combine(Directory, "attestation-policy.json");

    /// <summary>The broker's clock; it starts at the real time because workers made by LocalAttestation date their evidence by the system clock.</summary>
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));

    public ECDsa AttesterKey { get; }

    public SimulatedAttester Attester { get; }

    public HpkeKeyPair Worker { get; }

    public FileMasterKeyProvider MasterKey { get; }

    public KeyBrokerHost Broker { get; }

    /// <summary>Every frame the broker answered, for leak checks.</summary>
    public List<byte[]> ResponseFrames { get; } = [];

    /// <summary>A policy accepting simulated evidence from this harness's attester for <paramref name="measurement"/> and <paramref name="tenants"/>.</summary>
    public AttestationPolicyFile Policy(string? measurement = null, string[]? tenants = null, bool allowSimulated = true, bool withKey = true) => new()
    {
        Appraisal = new AppraisalPolicy
        {
            Id = "broker-tests",
            AllowedTees = allowSimulated ? new HashSet<TeeType> { TeeType.Simulated, TeeType.SevSnp } : new HashSet<TeeType> { TeeType.SevSnp },
        },
        SimulatedAttesterKey = withKey ? AttesterKey.ExportSubjectPublicKeyInfoPem() : null,
        Workers = [new WorkerRule(measurement ?? Measurement, tenants ?? [AttestationPolicyFile.Any])],
    };

    /// <summary>Write the policy file, moving its modification time forward so the broker sees the change.</summary>
    public void WritePolicy(AttestationPolicyFile policy)
    {
        var previous = File.Exists(PolicyPath) ? File.GetLastWriteTimeUtc(PolicyPath) : DateTime.MinValue;
        File.WriteAllText(PolicyPath, policy.Serialize());
        File.SetLastWriteTimeUtc(PolicyPath, previous == DateTime.MinValue ? DateTime.UtcNow : previous.AddSeconds(2));
    }

    public async Task<BrokerResponse> SendAsync(BrokerRequest request)
    {
        var frame = await Broker.HandleAsync(Frames.Broker.Encode(request), CancellationToken.None);
        ResponseFrames.Add(frame);
        return Frames.Broker.DecodeResponse(frame)!;
    }

    public async Task<byte[]> ChallengeAsync()
        => Assert.IsType<ChallengeResponse>(await SendAsync(new ChallengeRequest())).Nonce;

    public byte[] Claims(byte[] nonce, byte[]? publicKey = null, string? measurement = null, IReadOnlyList<string>? functions = null)
        => new WorkerClaims(nonce, publicKey ?? Worker.PublicKey, measurement ?? Measurement, functions ?? []).Encode();

    public byte[] Evidence(byte[] claims, bool debug = false, string? measurement = null)
        => Attester.CreateEvidence(Convert.FromHexString(measurement ?? Measurement), WorkerClaims.ReportData(claims), [], Clock.GetUtcNow(), debug);

    public Task<BrokerResponse> AttestAsync(byte[] nonce, byte[] claims, byte[] evidence, string tee = "simulated")
        => SendAsync(new AttestRequest(nonce, tee, evidence, [], claims));

    /// <summary>The whole attestation, done right: a session id.</summary>
    public async Task<string> SessionAsync()
    {
        var nonce = await ChallengeAsync();
        var claims = Claims(nonce);
        return Assert.IsType<AttestResponse>(await AttestAsync(nonce, claims, Evidence(claims))).Session;
    }

    public async Task<IReadOnlyList<WrappedKey>> GenerateAsync(string tenantId, params KeySpec[] keys)
        => Assert.IsType<GenerateKeysResponse>(await SendAsync(new GenerateKeysRequest(keys.Length == 0 ? [new KeySpec(KeyPurpose.Data, 1)] : keys) { TenantId = tenantId })).Keys;

    public Task<BrokerResponse> UnwrapAsync(string session, string tenantId, IReadOnlyList<WrappedKey> keys)
        => SendAsync(new UnwrapKeysRequest(keys, session) { TenantId = tenantId });

    /// <summary>Open a release as the worker does.</summary>
    public IReadOnlyList<UnwrappedKey> Open(BrokerResponse response, string tenantId, string session)
    {
        var sealedKeys = Assert.IsType<UnwrapKeysResponse>(response).SealedKeys;
        var plaintext = SealedBox.Open(Worker, BrokerKeySet.SealPurpose, BrokerKeySet.AssociatedData(tenantId, session), sealedKeys);
        Assert.True(BrokerKeySet.TryDecode(plaintext, out var keys));
        return keys;
    }

    /// <summary>The refusal's failed checks (asserting it is an attestation refusal).</summary>
    public static IReadOnlyList<string> Refused(BrokerResponse response)
    {
        var error = Assert.IsType<BrokerErrorResponse>(response).Error;
        Assert.Equal(BrokerErrorCodes.AttestationRefused, error.Code);
        return error.FailedChecks!;
    }

    public IReadOnlyList<JsonElement> AuditLines()
    {
        var path = Path.Combine(Directory, "keybroker-audit.jsonl");
        return File.Exists(path)
            ? [.. File.ReadAllLines(path).Select(line => JsonDocument.Parse(line).RootElement.Clone())]
            : [];
    }

    public JsonElement LastAudit()
    {
        var lines = AuditLines();
        Assert.NotEmpty(lines);
        return lines[^1];
    }

    public void Dispose()
    {
        MasterKey.Dispose();
        Worker.Dispose();
        AttesterKey.Dispose();
        if (_ownsDirectory)
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
