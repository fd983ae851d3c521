using Cloister.Enclave.Functions;
using Cloister.Sandbox.Backends;

namespace Cloister.Cli.Worker;

/// <summary>
/// The sandbox backend an enclave host runs functions on and its function options, with the package
/// directory it extracts into (outside the data directory, one per process; deleted on dispose).
/// </summary>
internal sealed class FunctionRuntime : IDisposable
{
    private FunctionRuntime(ISandboxBackend? backend, string backendMessage, EnclaveFunctionOptions options)
    {
        Backend = backend;
        BackendMessage = backendMessage;
        Options = options;
    }

    /// <summary>The sandbox backend functions run in, or null when none is usable.</summary>
    public ISandboxBackend? Backend { get; }

    /// <summary>Which backend is used, or what to install.</summary>
    public string BackendMessage { get; }

    /// <summary>What the enclave host gets.</summary>
    public EnclaveFunctionOptions Options { get; }

    public static FunctionRuntime Create(string dataDirectory, FunctionSettings settings)
    {
        var message = UnsandboxedBackend.Warning;
        var backend = settings switch
        {
            { Unsandboxed: true } => new UnsandboxedBackend(),
            { BackendName: { } name } => SandboxBackends.TryCreate(name, out var named, out message) ? named : null,
            _ => SandboxBackends.Detect(out message),
        };

        // Packages are extracted outside the data directory (sandboxes bind them read-only), one
        // directory per process so that servers sharing a machine never clear each other's.
        var packages = Directory.CreateTempSubdirectory("cloister-functions-").FullName;
        File.SetUnixFileMode(packages, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        return new FunctionRuntime(backend, message, new EnclaveFunctionOptions
        {
            Backend = backend,
            Pool = settings.Pool,
            PackageDirectory = packages,
            DataDirectory = Path.GetFullPath(dataDirectory),
        });
    }

    /// <summary>Deletes the package directory; dispose the enclave host first.</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Options.PackageDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a package directory left in /tmp holds only customer code, no secret.
        }
    }
}
