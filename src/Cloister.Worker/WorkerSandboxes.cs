using Cloister.Enclave.Functions;
using Cloister.Protocol;
using Cloister.Sandbox.Backends;

namespace Cloister.Worker;

/// <summary>
/// The sandbox backend an enclave host runs functions on and its function options, with the package
/// directory it extracts into (outside the data directory, one per process, named after it; deleted on dispose, or by a
/// later process when this one was killed).
/// </summary>
public sealed class WorkerSandboxes : IDisposable
{
    private const string PackagePrefix = "cloister-functions-";

    private WorkerSandboxes(ISandboxBackend? backend, string backendMessage, EnclaveFunctionOptions options)
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

    public static WorkerSandboxes Create(string dataDirectory, FunctionSettings settings)
    {
        var message = UnsandboxedBackend.Warning;
        var backend = settings switch
        {
            { Unsandboxed: true } => new UnsandboxedBackend(),
            { BackendName: { } name } => SandboxBackends.TryCreate(name, out var named, out message) ? named : null,
            _ => SandboxBackends.Detect(out message),
        };

        // Packages are extracted outside the data directory (sandboxes bind them read-only), one
        // directory per process so that servers sharing a machine never clear each other's; its name
        // says which process (pid and start time), so that a later one removes it if that one died.
        SweepStalePackageDirectories();
        var packages = Directory.CreateTempSubdirectory($"{PackagePrefix}{ProcessIdentity.Current}-").FullName;
        File.SetUnixFileMode(packages, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        return new WorkerSandboxes(backend, message, new EnclaveFunctionOptions
        {
            Backend = backend,
            Pool = settings.Pool,
            PackageDirectory = packages,
            DataDirectory = Path.GetFullPath(dataDirectory),
        });
    }

    /// <summary>Deletes the package directories of processes that are gone (killed before they could delete their own).</summary>
    internal static IReadOnlyList<string> SweepStalePackageDirectories()
    {
        var deleted = new List<string>();
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), PackagePrefix + "*"))
        {
            if (ProcessIdentity.TryParse(Path.GetFileName(directory)[PackagePrefix.Length..], out var pid, out var start, out var random)
                && random.Length > 0
                && !ProcessIdentity.IsAlive(pid, start))
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                    deleted.Add(directory);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Another user's, or being removed right now: leave it.
                }
            }
        }

        return deleted;
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
