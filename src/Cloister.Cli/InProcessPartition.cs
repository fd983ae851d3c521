using Cloister.Enclave;
using Cloister.KeyBroker;
using Cloister.Protocol;

namespace Cloister.Cli;

/// <summary>
/// The enclave and the key broker, running in this process behind their message boundaries: the
/// router gets only an <see cref="IFrameTransport"/> to the enclave, the enclave only one to the broker.
/// A later issue moves each into its own process; the router's code does not change.
/// </summary>
internal sealed class InProcessPartition : IAsyncDisposable
{
    private readonly FileMasterKeyProvider _masterKey;
    private readonly EnclaveHost _enclave;

    private InProcessPartition(FileMasterKeyProvider masterKey, EnclaveHost enclave)
    {
        _masterKey = masterKey;
        _enclave = enclave;
        Transport = new InProcessTransport(enclave);
    }

    /// <summary>The router's transport to the enclave.</summary>
    public IFrameTransport Transport { get; }

    /// <summary>Where the master key file is.</summary>
    public string MasterKeyPath => _masterKey.KeyPath;

    public static InProcessPartition Open(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var masterKey = new FileMasterKeyProvider(new FileMasterKeyProviderOptions { DataDirectory = dataDirectory });
        var broker = new InProcessTransport(new KeyBrokerHost(masterKey));
        return new InProcessPartition(masterKey, new EnclaveHost(broker));
    }

    public ValueTask DisposeAsync()
    {
        _enclave.Dispose(); // zeroes the keyring
        _masterKey.Dispose();
        return ValueTask.CompletedTask;
    }
}
