using System.Diagnostics;

namespace Cloister.Sandbox.Backends;

/// <summary>Starts a backend's launcher inside the sandbox's cgroups, with pipes on stdin, stdout and stderr.</summary>
internal static class SandboxLauncher
{
    /// <summary>The uid and gid the sandboxed program runs as inside its sandbox ("nobody").</summary>
    public const int SandboxUid = 65534;

    /// <summary>Read-only system files bound into every sandbox when the host has them.</summary>
    public static readonly string[] EtcFiles = ["/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime"];

    // The shell joins the cgroups first, so the launcher and everything it forks are accounted and killable.
    private const string JoinScript = "for c in $CLOISTER_CGROUPS; do echo $$ > \"$c/cgroup.procs\" || exit 125; done; unset CLOISTER_CGROUPS; exec \"$@\"";

    public static Task<Process> StartAsync(SandboxCgroup cgroup, IEnumerable<string> command)
    {
        var info = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(JoinScript);
        info.ArgumentList.Add("sandbox-launcher");
        foreach (var argument in command)
        {
            info.ArgumentList.Add(argument);
        }

        // Nothing of the host's environment reaches the launcher (the program's own is set by the backend).
        info.Environment.Clear();
        info.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        info.Environment["CLOISTER_CGROUPS"] = cgroup.JoinList;
        return LauncherThread.StartAsync(info);
    }

    public static long AddressSpaceBytes(SandboxLimits limits) => (limits.MemoryMiB + 2048L) * 1024 * 1024;

    /// <summary>
    /// The program's environment: the spec's, over a minimal base. <paramref name="ownPidNamespace"/> tells a runner that every
    /// other process it can see is its handler's (a sandbox with its own pid namespace and uid), so it may reap them all.
    /// </summary>
    public static Dictionary<string, string> Environment(SandboxSpec spec, bool ownPidNamespace)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/bin:/bin",
            ["HOME"] = "/tmp",
            ["LANG"] = "C.UTF-8",
        };
        if (ownPidNamespace)
        {
            env[Runner.Runners.OwnPidNamespaceVariable] = "1";
        }
        foreach (var (name, value) in spec.Environment)
        {
            env[name] = value;
        }

        return env;
    }

    /// <summary>
    /// Why a sandbox's program ended, from its cgroup and what it printed; both backends share this rule.
    /// <paramref name="launcherFailed"/> recognises the backend's own "could not start the program" message.
    /// </summary>
    public static SandboxExitReason Classify(SandboxCgroup cgroup, int exitCode, string stderrTail, Func<string, bool> launcherFailed)
    {
        if (exitCode != 0 && (cgroup.HitMemoryLimit() || LooksLikeMemoryError(exitCode, stderrTail)))
        {
            return SandboxExitReason.MemoryLimit;
        }

        if (exitCode != 0 && (cgroup.HitPidsLimit() || LooksLikeForkFailure(exitCode, stderrTail)))
        {
            return SandboxExitReason.PidsLimit;
        }

        return exitCode switch
        {
            128 + 24 => SandboxExitReason.CpuLimit, // SIGXCPU at the RLIMIT_CPU soft limit
            > 128 => SandboxExitReason.Crashed,
            _ when launcherFailed(stderrTail) => SandboxExitReason.Crashed,
            _ => SandboxExitReason.Exited,
        };
    }

    public static bool LooksLikeMemoryError(int exitCode, string stderrTail) =>
        exitCode != 0 && (stderrTail.Contains("MemoryError", StringComparison.Ordinal)
            || stderrTail.Contains("Cannot allocate memory", StringComparison.OrdinalIgnoreCase)
            || stderrTail.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
            || stderrTail.Contains("heap limit", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// gVisor enforces the pids limit inside the sandbox (RLIMIT_NPROC), out of the host cgroup's
    /// sight, so a refused fork is recognised by what the program printed as it died.
    /// </summary>
    public static bool LooksLikeForkFailure(int exitCode, string stderrTail) =>
        exitCode != 0 && (stderrTail.Contains("Cannot fork", StringComparison.OrdinalIgnoreCase)
            || stderrTail.Contains("fork: Resource temporarily unavailable", StringComparison.OrdinalIgnoreCase)
            || stderrTail.Contains("fork: retry", StringComparison.OrdinalIgnoreCase));
}
