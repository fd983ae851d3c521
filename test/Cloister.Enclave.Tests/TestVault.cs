using System.Collections.Concurrent;
using Cloister.Enclave.Attestation;
using Cloister.Enclave.Functions;
using Cloister.KeyBroker;
using Cloister.Protocol;

namespace Cloister.Enclave.Tests;

/// <summary>
/// The enclave and key broker wired as the router sees them: real frames over in-process transports,
/// a real master key file in a temporary directory, and a small in-memory stand-in for the router's
/// store of wrapped keys.
/// </summary>
internal sealed class TestVault : IDisposable
{
    private readonly List<EnclaveHost> _enclaves = [];

    public TestVault()
    {
        DataDirectory = Directory.CreateTempSubdirectory("cloister-enclave-tests-").FullName;
        MasterKey = new FileMasterKeyProvider(new FileMasterKeyProviderOptions { DataDirectory = DataDirectory });
        BrokerTransport = new InProcessTransport(NewBroker(MasterKey, DataDirectory));
        EnclaveTransport = NewEnclaveTransport();
        Client = new EnclaveClient(EnclaveTransport, WrappedKeys);
    }

    public string DataDirectory { get; }

    public FileMasterKeyProvider MasterKey { get; }

    public InProcessTransport BrokerTransport { get; }

    public IFrameTransport EnclaveTransport { get; }

    public WrappedKeyStore WrappedKeys { get; } = new();

    public EnclaveClient Client { get; }

    /// <summary>A second enclave worker on the same broker: it starts with an empty keyring.</summary>
    public IFrameTransport NewEnclaveTransport()
    {
        var enclave = NewEnclave(BrokerTransport, DataDirectory);
        _enclaves.Add(enclave);
        return new InProcessTransport(enclave);
    }

    /// <summary>A key broker releasing keys to the workers <see cref="NewEnclave"/> creates over <paramref name="dataDirectory"/>.</summary>
    public static KeyBrokerHost NewBroker(IMasterKeyProvider masterKey, string dataDirectory)
        => new(masterKey, ReleasePolicySource.Fixed(LocalAttestation.CreateSimulated(dataDirectory).Policy), new KeyBrokerOptions { DataDirectory = dataDirectory });

    /// <summary>An enclave worker with its own identity (simulated evidence from <paramref name="dataDirectory"/>'s attester key).</summary>
    public static EnclaveHost NewEnclave(IFrameTransport broker, string dataDirectory, EnclaveFunctionOptions? functions = null)
        => new(broker, functions, LocalAttestation.CreateSimulated(dataDirectory).Identity);

    public async Task<string> CreateTenantAsync(string? tenantId = null)
    {
        tenantId ??= "tenant-" + Guid.NewGuid().ToString("N");
        var created = await Client.SendAsync<CreateTenantKeysResponse>(new CreateTenantKeysRequest { TenantId = tenantId }, CancellationToken.None);
        WrappedKeys.Add(tenantId, created.Keys);
        return tenantId;
    }

    public async Task RotateAsync(string tenantId, int newVersion)
    {
        var rotated = await Client.SendAsync<RotateDataKeyResponse>(new RotateDataKeyRequest(newVersion) { TenantId = tenantId }, CancellationToken.None);
        WrappedKeys.Add(tenantId, [rotated.Key]);
    }

    public async Task<TokenizeResult> TokenizeAsync(string tenantId, TokenizeItem item, int keyVersion = 1)
    {
        var response = await Client.SendAsync<TokenizeResponse>(new TokenizeRequest(keyVersion, [item]) { TenantId = tenantId }, CancellationToken.None);
        return Assert.Single(response.Results);
    }

    public Task<TokenizeResult> TokenizeAsync(string tenantId, string value, string format, string? alphabet = null, string classifier = "default", bool deterministic = false)
        => TokenizeAsync(tenantId, new TokenizeItem(value, format, alphabet, classifier, deterministic));

    public async Task<RevealResult> RevealAsync(string tenantId, RevealItem item)
    {
        var response = await Client.SendAsync<RevealResponse>(new RevealRequest([item]) { TenantId = tenantId }, CancellationToken.None);
        return Assert.Single(response.Results);
    }

    /// <summary>The record the router would store for a successful tokenize result, as a reveal item.</summary>
    public static RevealItem Stored(TokenizeResult result, string format, string? alphabet = null, int keyVersion = 1)
    {
        Assert.Null(result.Error);
        return new RevealItem(result.Token!, format, alphabet, keyVersion, result.Ciphertext);
    }

    public void Dispose()
    {
        foreach (var enclave in _enclaves)
        {
            enclave.Dispose();
        }

        MasterKey.Dispose();
        Directory.Delete(DataDirectory, recursive: true);
    }
}

/// <summary>The router's store of wrapped keys, reduced to a dictionary.</summary>
internal sealed class WrappedKeyStore : IWrappedKeySource
{
    private readonly ConcurrentDictionary<string, List<WrappedKey>> _keys = new();

    public void Add(string tenantId, IEnumerable<WrappedKey> keys)
    {
        var list = _keys.GetOrAdd(tenantId, _ => []);
        lock (list)
        {
            list.AddRange(keys);
        }
    }

    public Task<IReadOnlyList<WrappedKey>> GetWrappedKeysAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (!_keys.TryGetValue(tenantId, out var list))
        {
            return Task.FromResult<IReadOnlyList<WrappedKey>>([]);
        }

        lock (list)
        {
            return Task.FromResult<IReadOnlyList<WrappedKey>>([.. list]);
        }
    }
}
