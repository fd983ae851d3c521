using Cloister.Enclave;
using Cloister.Enclave.Attestation;
using Cloister.KeyBroker;
using Cloister.Protocol;
using Cloister.Sandbox.Backends;
using Cloister.Worker;

namespace Cloister.Cli;

/// <summary>
/// The enclave and the key broker, running in this process behind their message boundaries (tests and
/// <c>cloister bench</c>; <c>serve</c> runs each in its own process, see Cloister.Router/Supervision/): the
/// router gets only an <see cref="IFrameTransport"/> to the enclave, the enclave only one to the broker.
/// </summary>
internal sealed class InProcessPartition : IAsyncDisposable
{
    private readonly FileMasterKeyProvider _masterKey;
    private readonly EnclaveHost _enclave;
    private readonly WorkerSandboxes _functions;

    private InProcessPartition(FileMasterKeyProvider masterKey, EnclaveHost enclave, WorkerSandboxes functions)
    {
        _masterKey = masterKey;
        _enclave = enclave;
        _functions = functions;
        Transport = new InProcessTransport(enclave);
    }

    /// <summary>The router's transport to the enclave.</summary>
    public IFrameTransport Transport { get; }

    /// <summary>Where the master key file is.</summary>
    public string MasterKeyPath => _masterKey.KeyPath;

    /// <summary>The sandbox backend functions run in, or null when none is usable.</summary>
    public ISandboxBackend? Backend => _functions.Backend;

    /// <summary>Which backend is used, or what to install.</summary>
    public string BackendMessage => _functions.BackendMessage;

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

        var runtime = WorkerSandboxes.Create(dataDirectory, functions);
        var enclave = new EnclaveHost(broker, runtime.Options, attestation.Identity);
        return new InProcessPartition(masterKey, enclave, runtime);
    }

    public async ValueTask DisposeAsync()
    {
        await _enclave.DisposeAsync(); // stops invocations, kills sandboxes, zeroes the keyring
        _masterKey.Dispose();
        _functions.Dispose();
    }
}
