using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Cloister.Enclave;
using Cloister.Enclave.Attestation;
using Cloister.KeyBroker;
using Cloister.Protocol;

namespace Cloister.Benchmarks;

/// <summary>
/// Token generation per format, at three depths: the token alone (Token), the whole tokenize item with
/// ciphertext and fingerprint (Item), and one item through the encoded enclave boundary (Frame). Each
/// category's baseline is the random format.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class TokenFormatBenchmarks
{
    private const string Tenant = "bench-tenant";

    private static readonly TokenizeItem RandomItem = new("jane.doe@example.com", "random", null, "email", false);
    private static readonly TokenizeItem NumericItem = new("0123456789", "numeric", null, "account", false);
    private static readonly TokenizeItem PanItem = new("4111 1111 1111 1111", "pan", null, "card", false);
    private static readonly TokenizeItem PanLast4Item = new("4111111111111111", "pan-last4", null, "card", false);
    private static readonly TokenizeItem SsnItem = new("123-45-6789", "ssn-last4", null, "ssn", false);
    private static readonly TokenizeItem FpeDigitsItem = new("4111-1111-1111-1111", "fpe", "digits", "card", true);
    private static readonly TokenizeItem FpeAlnumItem = new("AB12-cd34-EF56-gh78", "fpe", "alnum", "ref", true);

    private readonly Keyring _keyring = new();
    private TokenOperations _operations = null!;
    private KeyLease<FpeCiphers> _fpeLease;
    private FpeCiphers _fpe = null!;
    private string _dataDirectory = null!;
    private FileMasterKeyProvider _masterKey = null!;
    private EnclaveHost _enclave = null!;
    private byte[] _randomFrame = [];
    private byte[] _panFrame = [];
    private byte[] _fpeFrame = [];

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _keyring.Add(Tenant,
        [
            new UnwrappedKey(KeyPurpose.Data, 1, RandomNumberGenerator.GetBytes(32)),
            new UnwrappedKey(KeyPurpose.Fpe, 1, RandomNumberGenerator.GetBytes(32)),
            new UnwrappedKey(KeyPurpose.Fingerprint, 1, RandomNumberGenerator.GetBytes(32)),
        ]);
        _operations = new TokenOperations(_keyring);
        _fpeLease = _keyring.Fpe(Tenant);
        _fpe = _fpeLease.Key!;

        // The frame benchmarks run against a real broker and master key file, keys loaded once.
        _dataDirectory = Directory.CreateTempSubdirectory("cloister-bench-").FullName;
        _masterKey = new FileMasterKeyProvider(new FileMasterKeyProviderOptions { DataDirectory = _dataDirectory });
        var attestation = LocalAttestation.CreateSimulated(_dataDirectory);
        var broker = new KeyBrokerHost(_masterKey, ReleasePolicySource.Fixed(attestation.Policy), new KeyBrokerOptions { DataDirectory = _dataDirectory });
        _enclave = new EnclaveHost(new InProcessTransport(broker), null, attestation.Identity);
        var created = (CreateTenantKeysResponse)Frames.Enclave.DecodeResponse(
            await _enclave.HandleAsync(Frames.Enclave.Encode(new CreateTenantKeysRequest { TenantId = Tenant }), CancellationToken.None))!;
        await _enclave.HandleAsync(Frames.Enclave.Encode(new FingerprintRequest("warm-up") { TenantId = Tenant, Keys = created.Keys }), CancellationToken.None);
        _randomFrame = Frames.Enclave.Encode(new TokenizeRequest(1, [RandomItem]) { TenantId = Tenant });
        _panFrame = Frames.Enclave.Encode(new TokenizeRequest(1, [PanItem]) { TenantId = Tenant });
        _fpeFrame = Frames.Enclave.Encode(new TokenizeRequest(1, [FpeDigitsItem]) { TenantId = Tenant });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _enclave.Dispose();
        _fpeLease.Dispose();
        _keyring.Dispose();
        _masterKey.Dispose();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Token")]
    public string Token_Random() => RandomTokens.Draw(RandomItem.Value);

    [Benchmark, BenchmarkCategory("Token")]
    public string Token_Numeric() => Template(NumericItem).Token(AttemptPlan.Random);

    [Benchmark, BenchmarkCategory("Token")]
    public string Token_Pan() => Template(PanItem).Token(AttemptPlan.Random);

    [Benchmark, BenchmarkCategory("Token")]
    public string Token_PanLast4() => Template(PanLast4Item).Token(AttemptPlan.Random);

    [Benchmark, BenchmarkCategory("Token")]
    public string Token_SsnLast4() => Template(SsnItem).Token(AttemptPlan.Random);

    [Benchmark, BenchmarkCategory("Token")]
    public string? Token_FpeDigits()
    {
        FpeTokens.TryTransform(_fpe, FpeAlphabet.Digits, FpeDigitsItem.Value, encrypt: true, out var token, out _);
        return token;
    }

    [Benchmark, BenchmarkCategory("Token")]
    public string? Token_FpeAlnum()
    {
        FpeTokens.TryTransform(_fpe, FpeAlphabet.Alnum, FpeAlnumItem.Value, encrypt: true, out var token, out _);
        return token;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Item")]
    public TokenizeResult Item_Random() => _operations.Tokenize(Tenant, 1, RandomItem);

    [Benchmark, BenchmarkCategory("Item")]
    public TokenizeResult Item_Numeric() => _operations.Tokenize(Tenant, 1, NumericItem);

    [Benchmark, BenchmarkCategory("Item")]
    public TokenizeResult Item_Pan() => _operations.Tokenize(Tenant, 1, PanItem);

    [Benchmark, BenchmarkCategory("Item")]
    public TokenizeResult Item_PanLast4() => _operations.Tokenize(Tenant, 1, PanLast4Item);

    [Benchmark, BenchmarkCategory("Item")]
    public TokenizeResult Item_SsnLast4() => _operations.Tokenize(Tenant, 1, SsnItem);

    [Benchmark, BenchmarkCategory("Item")]
    public TokenizeResult Item_FpeDigits_Deterministic() => _operations.Tokenize(Tenant, 1, FpeDigitsItem);

    [Benchmark, BenchmarkCategory("Item")]
    public TokenizeResult Item_FpeAlnum_Deterministic() => _operations.Tokenize(Tenant, 1, FpeAlnumItem);

    [Benchmark(Baseline = true), BenchmarkCategory("Frame")]
    public ValueTask<byte[]> Frame_Random() => _enclave.HandleAsync(_randomFrame, CancellationToken.None);

    [Benchmark, BenchmarkCategory("Frame")]
    public ValueTask<byte[]> Frame_Pan() => _enclave.HandleAsync(_panFrame, CancellationToken.None);

    [Benchmark, BenchmarkCategory("Frame")]
    public ValueTask<byte[]> Frame_FpeDigits() => _enclave.HandleAsync(_fpeFrame, CancellationToken.None);

    private static DigitTemplate Template(TokenizeItem item)
    {
        DigitTemplate.TryCreate(item.Format, item.Value, out var template);
        return template!;
    }
}
