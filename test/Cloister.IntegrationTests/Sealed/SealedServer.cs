using System.Collections.Concurrent;
using System.Security.Cryptography;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Attestation.Simulated;
using Cloister.Client;
using Cloister.Enclave.Attestation;
using Cloister.IntegrationTests.Support;
using Cloister.Protocol;
using Microsoft.Extensions.Logging;

namespace Cloister.IntegrationTests.Sealed;

/// <summary>
/// Simulated evidence for the in-process worker, signed by a test attester key.
/// TODO(sealed): replace with the broker helper's SimulatedEvidenceProvider once it is on main.
/// </summary>
internal sealed class TestEvidenceProvider(ECDsa key, string workerMeasurement) : IEvidenceProvider
{
    private readonly SimulatedAttester _attester = new(key);

    public string Tee => "simulated";

    public ValueTask<WorkerEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken)
        => ValueTask.FromResult(new WorkerEvidence(Tee, _attester.CreateEvidence(Convert.FromHexString(workerMeasurement), reportData.Span, [], DateTimeOffset.UtcNow), []));
}

/// <summary>Records every frame the router sends to and receives from the enclave.</summary>
public sealed class RecordingTransport(IFrameTransport inner) : IFrameTransport
{
    private readonly ConcurrentQueue<byte[]> _frames = new();

    /// <summary>Every request and response frame, in order.</summary>
    public IReadOnlyList<byte[]> Frames => [.. _frames];

    public async ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        _frames.Enqueue(request.ToArray());
        var response = await inner.SendAsync(request, cancellationToken);
        _frames.Enqueue(response);
        return response;
    }
}

/// <summary>A test router whose in-process worker has an attested (simulated) identity, with the matching client policy.</summary>
public sealed class SealedServer : IAsyncDisposable
{
    private readonly ECDsa _attesterKey;
    private readonly TempDirectory _policyDirectory = TempDirectory.Create("policy");

    private SealedServer(ECDsa attesterKey, string workerMeasurement, TestServer server, RecordingTransport recorder)
    {
        _attesterKey = attesterKey;
        WorkerMeasurement = workerMeasurement;
        Server = server;
        Recorder = recorder;
        Policy = PolicyFor([WorkerMeasurement]);
        PolicyPath = WritePolicy(Policy);
    }

    public TestServer Server { get; }

    /// <summary>What the router sent to and received from the enclave.</summary>
    public RecordingTransport Recorder { get; }

    public string WorkerMeasurement { get; }

    /// <summary>A policy that allows this server's simulated worker.</summary>
    public AttestationPolicyFile Policy { get; }

    /// <summary><see cref="Policy"/> written to a file.</summary>
    public string PolicyPath { get; }

    public static async Task<SealedServer> StartAsync(LogLevel logLevel = LogLevel.Information)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var measurement = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(48));
        RecordingTransport? recorder = null;
        var server = await TestServer.StartAsync(
            logLevel: logLevel,
            identity: new WorkerIdentity(new TestEvidenceProvider(key, measurement), measurement),
            wrapEnclave: inner => recorder = new RecordingTransport(inner));
        return new SealedServer(key, measurement, server, recorder!);
    }

    /// <summary>A policy trusting <paramref name="workers"/>, allowing simulated evidence from this server's attester unless told otherwise.</summary>
    public AttestationPolicyFile PolicyFor(IReadOnlyList<string> workers, bool allowSimulated = true, IReadOnlyDictionary<string, IReadOnlyList<string>>? functions = null)
        => new()
        {
            Appraisal = new AppraisalPolicy
            {
                Id = "sealed-test",
                AllowedTees = allowSimulated
                    ? new HashSet<TeeType> { TeeType.SevSnp, TeeType.Tdx, TeeType.Nitro, TeeType.Simulated }
                    : new HashSet<TeeType> { TeeType.SevSnp, TeeType.Tdx, TeeType.Nitro },
            },
            SimulatedAttesterKey = _attesterKey.ExportSubjectPublicKeyInfoPem(),
            Workers = [.. workers.Select(w => new WorkerRule(w, ["*"]))],
            Functions = functions ?? new Dictionary<string, IReadOnlyList<string>>(),
        };

    public string WritePolicy(AttestationPolicyFile policy)
    {
        var path = _policyDirectory.File($"policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, policy.Serialize());
        return path;
    }

    /// <summary>An SDK client for <paramref name="tenant"/>, its requests passing through <paramref name="handler"/> when given.</summary>
    public CloisterClient Client(TenantHandle tenant, DelegatingHandler? handler = null)
    {
        var inner = new SocketsHttpHandler();
        HttpMessageHandler pipeline = inner;
        if (handler is not null)
        {
            handler.InnerHandler = inner;
            pipeline = handler;
        }

        return new CloisterClient(new HttpClient(pipeline) { BaseAddress = Server.BaseAddress }, tenant.Key);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _attesterKey.Dispose();
        _policyDirectory.Dispose();
    }
}
