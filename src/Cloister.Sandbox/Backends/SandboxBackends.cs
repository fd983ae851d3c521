using System.Diagnostics.CodeAnalysis;

namespace Cloister.Sandbox.Backends;

/// <summary>Finds the sandbox backends installed on this host.</summary>
public static class SandboxBackends
{
    /// <summary>What to install when no backend is present.</summary>
    public const string InstallHint = "no sandbox backend found: install gVisor or bubblewrap ('sudo apt-get install runsc bubblewrap')";

    /// <summary>The best available backend (gVisor first, then bubblewrap), or null and <paramref name="message"/> saying what to install.</summary>
    public static ISandboxBackend? Detect(out string message)
    {
        foreach (var name in new[] { RunscBackend.BackendName, BubblewrapBackend.BackendName })
        {
            if (TryCreate(name, out var backend, out _))
            {
                message = $"sandbox backend: {backend.Name}";
                return backend;
            }
        }

        message = InstallHint;
        return null;
    }

    /// <summary>Creates the backend called <paramref name="name"/> (<c>runsc</c> or <c>bwrap</c>) if it is installed and usable here.</summary>
    public static bool TryCreate(string name, [NotNullWhen(true)] out ISandboxBackend? backend, out string message)
    {
        backend = null;
        switch (name)
        {
            case RunscBackend.BackendName:
                var runsc = HostTools.Find("runsc");
                if (runsc is null || !HostTools.IsRoot)
                {
                    message = runsc is null ? "runsc (gVisor) is not installed: 'sudo apt-get install runsc'" : "runsc needs root on this host";
                    return false;
                }

                backend = new RunscBackend(runsc);
                break;
            case BubblewrapBackend.BackendName:
                var bwrap = HostTools.Find("bwrap");
                var prlimit = HostTools.Find("prlimit");
                var setpriv = HostTools.Find("setpriv");
                if (bwrap is null || prlimit is null || setpriv is null || !HostTools.IsRoot)
                {
                    message = bwrap is null ? "bubblewrap is not installed: 'sudo apt-get install bubblewrap'"
                        : prlimit is null || setpriv is null ? "prlimit/setpriv (util-linux) are missing" : "the bubblewrap backend needs root (cgroups) on this host";
                    return false;
                }

                backend = new BubblewrapBackend(bwrap, prlimit, setpriv);
                break;
            default:
                message = $"unknown sandbox backend '{name}' (known: runsc, bwrap)";
                return false;
        }

        // The first backend of a process clears what sandboxes of dead processes left behind (a worker killed before this one).
        StaleSandboxes.SweepOnce();
        message = $"sandbox backend: {name}";
        return true;
    }
}
