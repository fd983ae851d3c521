using Cloister.Enclave;
using Cloister.Enclave.Attestation;
using Cloister.Enclave.Functions;
using Cloister.KeyBroker;
using Cloister.Protocol;
using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Pool;

namespace Cloister.Cli;

/// <summary>How the enclave runs customer functions.</summary>
internal sealed record FunctionSettings
{
    /// <summary>Run handlers as plain child processes (development only; <c>serve --unsafe-no-sandbox</c>).</summary>
    public bool Unsandboxed { get; init; }

    /// <summary>A specific backend (<c>runsc</c> or <c>bwrap</c>) instead of the best one found; tests run each.</summary>
    public string? BackendName { get; init; }

    /// <summary>The warm pool's sizes and idle timeout.</summary>
    public SandboxPoolOptions Pool { get; init; } = new();
}

/// <summary>
/// The enclave and the key broker, running in this process behind their message boundaries: the
/// router gets only an <see cref="IFrameTransport"/> to the enclave, the enclave only one to the broker.
/// A later issue moves each into its own process; the router's code does not change.
/// </summary>
internal sealed class InProcessPartition : IAsyncDisposable
{
    private readonly FileMasterKeyProvider _masterKey;
    private readonly EnclaveHost _enclave;
    private readonly string _packageDirectory;

    private InProcessPartition(FileMasterKeyProvider masterKey, EnclaveHost enclave, string packageDirectory, ISandboxBackend? backend, string backendMessage)
    {
        _masterKey = masterKey;
        _enclave = enclave;
        _packageDirectory = packageDirectory;
        Backend = backend;
        BackendMessage = backendMessage;
        Transport = new InProcessTransport(enclave);
    }

    /// <summary>The router's transport to the enclave.</summary>
    public IFrameTransport Transport { get; }

    /// <summary>Where the master key file is.</summary>
    public string MasterKeyPath => _masterKey.KeyPath;

    /// <summary>The sandbox backend functions run in, or null when none is usable.</summary>
    public ISandboxBackend? Backend { get; }

    /// <summary>Which backend is used, or what to install.</summary>
    public string BackendMessage { get; }

    public static InProcessPartition Open(string dataDirectory, FunctionSettings? functions = null)
    {
        functions ??= new FunctionSettings();
        Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var masterKey = new FileMasterKeyProvider(new FileMasterKeyProviderOptions { DataDirectory = dataDirectory });

        // Keys are released only to an attested worker, in-process too: simulated evidence under a policy that accepts only it.
        var attestation = LocalAttestation.CreateSimulated(dataDirectory);
        var broker = new InProcessTransport(new KeyBrokerHost(
            masterKey,
            ReleasePolicySource.Fixed(attestation.Policy),
            new KeyBrokerOptions { DataDirectory = dataDirectory }));

        var message = UnsandboxedBackend.Warning;
        var backend = functions switch
        {
            { Unsandboxed: true } => new UnsandboxedBackend(),
            { BackendName: { } name } => SandboxBackends.TryCreate(name, out var named, out message) ? named : null,
            _ => SandboxBackends.Detect(out message),
        };

        // Packages are extracted outside the data directory (sandboxes bind them read-only), one
        // directory per process so that servers sharing a machine never clear each other's.
        var packages = Directory.CreateTempSubdirectory("cloister-functions-").FullName;
        File.SetUnixFileMode(packages, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var enclave = new EnclaveHost(broker, new EnclaveFunctionOptions
        {
            Backend = backend,
            Pool = functions.Pool,
            PackageDirectory = packages,
            DataDirectory = Path.GetFullPath(dataDirectory),
        }, attestation.Identity);
        return new InProcessPartition(masterKey, enclave, packages, backend, message);
    }

    public async ValueTask DisposeAsync()
    {
        await _enclave.DisposeAsync(); // stops invocations, kills sandboxes, zeroes the keyring
        _masterKey.Dispose();
        try
        {
            Directory.Delete(_packageDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a package directory left in /tmp holds only customer code, no secret.
        }
    }
}
