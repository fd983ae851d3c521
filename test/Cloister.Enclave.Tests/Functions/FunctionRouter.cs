using System.Collections.Concurrent;
using System.Text;
using Cloister.Enclave.Functions;
using Cloister.Functions;
using Cloister.KeyBroker;
using Cloister.Protocol;
using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Pool;

namespace Cloister.Enclave.Tests.Functions;

/// <summary>A deployable function version: manifest JSON, bundle tar.gz and its measurement.</summary>
internal sealed record TestFunction(string Name, string ManifestJson, byte[] BundleTarGz, string Measurement)
{
    public FunctionRef Ref => new(Name, 1, Measurement);

    public FunctionPackage Package => new(ManifestJson, BundleTarGz);

    /// <summary>Builds a one-file function; <paramref name="nonce"/> makes a distinct version (a fresh sandbox).</summary>
    public static TestFunction Create(string manifestJson, string entrypoint, string source, string? nonce = null)
    {
        var files = new List<BundleFile> { new(entrypoint, false, Encoding.UTF8.GetBytes(source)) };
        if (nonce is not null)
        {
            files.Add(new BundleFile("nonce.txt", false, Encoding.UTF8.GetBytes(nonce)));
        }

        Assert.True(FunctionBundle.TryCreate(files, null, out var bundle, out var error), error);
        Assert.True(FunctionManifestJson.TryParse(manifestJson, out var manifest, out error), error);
        using var tar = new MemoryStream();
        bundle.WriteTarGz(tar);
        return new TestFunction("fn-" + Guid.NewGuid().ToString("N")[..8], manifestJson, tar.ToArray(), FunctionMeasurement.Compute(manifest, bundle));
    }
}

/// <summary>What the router saw while driving one invocation.</summary>
internal sealed record InvocationRun(InvocationCompletedResponse Completion, IReadOnlyList<EnclaveResponse> Events, IReadOnlyList<byte[]> Frames)
{
    public bool AskedForPackage => Events.Any(e => e is FunctionRequiredResponse);

    public bool AskedForKeys => Events.Any(e => e is KeysRequiredResponse);

    public EnclaveError Error => Assert.IsType<EnclaveError>(Completion.Error);

    public string Result => Assert.IsType<string>(Completion.ResultJson);
}

/// <summary>
/// Plays the router against a real enclave on a real sandbox backend: real key broker and master
/// key, real frames, and an in-memory token store filled by real tokenize requests through the same
/// enclave. It answers lookup and store steps and resends invokes with keys or the package.
/// </summary>
internal sealed class FunctionRouter : IAsyncDisposable
{
    private readonly string _root;
    private readonly FileMasterKeyProvider _masterKey;
    private readonly WrappedKeyStore _wrappedKeys = new();

    private readonly EnclaveClient _client;

    public FunctionRouter(string backendName)
    {
        if (!SandboxBackends.TryCreate(backendName, out var backend, out var message))
        {
            Assert.Fail($"sandbox backend '{backendName}' is not usable here: {message}. CI installs both runsc and bubblewrap (test.sh).");
        }

        var root = Directory.CreateTempSubdirectory("cloister-enclave-fn-");
        _root = root.FullName;

        // The sandbox uid must reach the package directory; the data dir stays private beside it.
        File.SetUnixFileMode(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        DataDirectory = Directory.CreateDirectory(Path.Combine(_root, "data")).FullName;
        File.SetUnixFileMode(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        PackageDirectory = Path.Combine(_root, "packages");
        _masterKey = new FileMasterKeyProvider(new FileMasterKeyProviderOptions { DataDirectory = DataDirectory });
        Host = TestVault.NewEnclave(new InProcessTransport(TestVault.NewBroker(_masterKey, DataDirectory)), DataDirectory, new EnclaveFunctionOptions
        {
            Backend = backend,
            Pool = new SandboxPoolOptions { MaxPerFunction = 2 },
            PackageDirectory = PackageDirectory,
            DataDirectory = DataDirectory,
        });
        Transport = new InProcessTransport(Host);
        _client = new EnclaveClient(Transport, _wrappedKeys);
    }

    public EnclaveHost Host { get; }

    /// <summary>The wrapped keys of every tenant created, as the router's store holds them.</summary>
    public IWrappedKeySource WrappedKeys => _wrappedKeys;

    public IFrameTransport Transport { get; }

    public string DataDirectory { get; }

    public string PackageDirectory { get; }

    /// <summary>The router's token table: (tenant, token) → record.</summary>
    public ConcurrentDictionary<(string Tenant, string Token), StoredTokenRecord> Records { get; } = new();

    public async Task<string> CreateTenantAsync()
    {
        var tenantId = "tenant-" + Guid.NewGuid().ToString("N");
        var created = await _client.SendAsync<CreateTenantKeysResponse>(new CreateTenantKeysRequest { TenantId = tenantId }, CancellationToken.None);
        _wrappedKeys.Add(tenantId, created.Keys);
        return tenantId;
    }

    /// <summary>Tokenizes through the enclave and stores the record, as the token API does.</summary>
    public async Task<string> TokenizeAsync(string tenantId, string value, string classifier, string format = "random")
    {
        var response = await _client.SendAsync<TokenizeResponse>(new TokenizeRequest(1, [new TokenizeItem(value, format, null, classifier, false)]) { TenantId = tenantId }, CancellationToken.None);
        var result = Assert.Single(response.Results);
        Assert.Null(result.Error);
        Assert.True(Records.TryAdd((tenantId, result.Token!), new StoredTokenRecord(result.Token!, format, null, classifier, 1, result.Ciphertext)));
        return result.Token!;
    }

    /// <summary>Reveals a stored token through the enclave's reveal request.</summary>
    public async Task<string?> RevealAsync(string tenantId, string token)
    {
        var record = Records[(tenantId, token)];
        var response = await _client.SendAsync<RevealResponse>(new RevealRequest([new RevealItem(record.Token, record.Format, record.Alphabet, record.KeyVersion, record.Ciphertext)]) { TenantId = tenantId }, CancellationToken.None);
        return Assert.Single(response.Results).Value;
    }

    /// <summary>Drives an invocation to its completion, answering every step from <see cref="Records"/>.</summary>
    public async Task<InvocationRun> InvokeAsync(string tenantId, TestFunction function, string argsJson)
    {
        var events = new List<EnclaveResponse>();
        var frames = new List<byte[]>();
        var id = "inv-" + Guid.NewGuid().ToString("N");
        var request = new InvokeFunctionRequest(id, function.Ref, argsJson, 1) { TenantId = tenantId };
        var response = await SendAsync(request, frames);
        for (var round = 0; round < 100; round++)
        {
            events.Add(response);
            switch (response)
            {
                case KeysRequiredResponse:
                    request = request with { Keys = await _wrappedKeys.GetWrappedKeysAsync(tenantId, CancellationToken.None) };
                    response = await SendAsync(request, frames);
                    break;
                case FunctionRequiredResponse required:
                    Assert.Equal(function.Measurement, required.Measurement);
                    request = request with { Package = function.Package };
                    response = await SendAsync(request, frames);
                    break;
                case InvocationPendingResponse pending:
                    response = await SendAsync(Answer(tenantId, pending), frames);
                    break;
                case InvocationCompletedResponse completed:
                    Assert.Equal(id, completed.InvocationId);
                    return new InvocationRun(completed, events, frames);
                default:
                    Assert.Fail($"unexpected response {response}");
                    break;
            }
        }

        Assert.Fail("the invocation did not complete in 100 rounds");
        return null!;
    }

    /// <summary>The router's answer to a pending step: lookups from the tenant's records only; stores insert unless taken.</summary>
    public ContinueInvocationRequest Answer(string tenantId, InvocationPendingResponse pending)
    {
        Assert.True(pending.LookupTokens is null ^ pending.StoreTokens is null);
        if (pending.LookupTokens is { } tokens)
        {
            var found = tokens.Select(token => Records.TryGetValue((tenantId, token), out var record) ? record : null).ToList();
            return new ContinueInvocationRequest(pending.InvocationId, pending.Step, Found: found) { TenantId = tenantId };
        }

        var stored = pending.StoreTokens!
            .Select(record => Records.TryAdd((tenantId, record.Token), new StoredTokenRecord(record.Token, record.Format, record.Alphabet, record.Classifier, record.KeyVersion, record.Ciphertext)))
            .ToList();
        return new ContinueInvocationRequest(pending.InvocationId, pending.Step, Stored: stored) { TenantId = tenantId };
    }

    public async Task<EnclaveResponse> SendAsync(EnclaveRequest request, List<byte[]>? frames = null)
    {
        var frame = await Transport.SendAsync(Frames.Enclave.Encode(request), CancellationToken.None);
        frames?.Add(frame);
        return Frames.Enclave.DecodeResponse(frame) ?? throw new InvalidOperationException("unreadable response");
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        _masterKey.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}

/// <summary>One router per backend, shared by a test class so warm sandboxes serve several tests.</summary>
public sealed class FunctionRouters : IAsyncLifetime
{
    private readonly Dictionary<string, FunctionRouter> _routers = [];
    private readonly Lock _lock = new();

    /// <summary>The backend <see cref="SandboxBackends.Detect"/> picks here.</summary>
    public static string DefaultBackend => SandboxBackends.Detect(out var message)?.Name ?? throw new InvalidOperationException(message);

    internal FunctionRouter For(string backend)
    {
        lock (_lock)
        {
            if (!_routers.TryGetValue(backend, out var router))
            {
                router = new FunctionRouter(backend);
                _routers.Add(backend, router);
            }

            return router;
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var router in _routers.Values)
        {
            await router.DisposeAsync();
        }
    }
}
