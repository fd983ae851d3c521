using System.Globalization;

namespace Cloister.Sandbox.Backends;

/// <summary>
/// Runs sandboxes with bubblewrap: new user, pid, network (empty), ipc, uts, cgroup and mount
/// namespaces; a read-only root of <c>/usr</c> and its links; a private tmpfs; a host uid and gid of
/// its own (<see cref="HostUids"/>), seen as 65534 inside; rlimits set by <c>prlimit</c>; memory, pids and CPU accounting by host cgroups.
/// </summary>
/// <remarks>
/// Needs root on the host (to create cgroups); the program itself runs as an unprivileged host uid
/// of its own, so bound host paths must be readable by "others".
/// </remarks>
public sealed class BubblewrapBackend : ISandboxBackend
{
    public const string BackendName = "bwrap";

    private readonly string _bwrap;
    private readonly string _prlimit;
    private readonly string _setpriv;

    internal BubblewrapBackend(string bwrap, string prlimit, string setpriv)
    {
        _bwrap = bwrap;
        _prlimit = prlimit;
        _setpriv = setpriv;
    }

    public string Name => BackendName;

    public async Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        ct.ThrowIfCancellationRequested();
        var limits = spec.Limits;
        var id = SandboxOwner.NewId("bw");
        var uid = HostUids.Take();
        SandboxCgroup? cgroup = null;
        try
        {
            cgroup = SandboxCgroup.Create(id, limits.MemoryMiB * 1024L * 1024L, limits.Pids);
            var process = await SandboxLauncher.StartAsync(cgroup, Command(spec, uid)).ConfigureAwait(false);
            return new SandboxProcess(process, new Host(cgroup, uid), limits);
        }
        catch
        {
            cgroup?.Dispose();
            HostUids.Release(uid);
            throw;
        }
    }

    private List<string> Command(SandboxSpec spec, int hostUid)
    {
        var limits = spec.Limits;
        static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

        // Address space gets 2 GiB of headroom because runtimes reserve far more than they touch (node 18 does not start under 1 GiB); the cgroup enforces the real limit.
        var addressSpace = SandboxLauncher.AddressSpaceBytes(limits);
        var tmpfsBytes = limits.TmpfsMiB * 1024L * 1024;
        var command = new List<string>
        {
            _prlimit, $"--as={I(addressSpace)}", $"--fsize={I(tmpfsBytes)}", "--nofile=256", "--core=0",
            _setpriv, $"--reuid={I(hostUid)}", $"--regid={I(hostUid)}", "--clear-groups",
            _bwrap, "--unshare-all", "--unshare-user", "--uid", I(SandboxLauncher.SandboxUid), "--gid", I(SandboxLauncher.SandboxUid),
            "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox", "--clearenv",
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
        };
        if (!spec.RenewableLimits)
        {
            // A backstop for the host's polling of the cgroup; RLIMIT_CPU counts a process's whole life, so a warm runner has none.
            command.Insert(2, $"--cpu={I(limits.CpuSeconds)}:{I(limits.CpuSeconds + 1L)}");
        }

        foreach (var file in SandboxLauncher.EtcFiles)
        {
            command.AddRange(["--ro-bind-try", file, file]);
        }

        command.AddRange(["--proc", "/proc", "--dev", "/dev", "--size", I(tmpfsBytes), "--perms", "1777", "--tmpfs", "/tmp"]);
        foreach (var (host, inside) in spec.ReadOnlyBinds)
        {
            command.AddRange(["--ro-bind", host, inside]);
        }

        foreach (var (name, value) in SandboxLauncher.Environment(spec, ownPidNamespace: true))
        {
            command.AddRange(["--setenv", name, value]);
        }

        command.AddRange(["--remount-ro", "/", "--chdir", "/tmp", "--", spec.Executable]);
        command.AddRange(spec.Arguments);
        return command;
    }

    private sealed class Host(SandboxCgroup cgroup, int hostUid) : ISandboxHost
    {
        public void KillAll() => cgroup.KillAll();

        public TimeSpan CpuUsed() => cgroup.CpuUsed();

        public bool HitPidsLimit() => cgroup.HitPidsLimit();

        public SandboxExitReason Classify(int exitCode, string stderrTail)
            => SandboxLauncher.Classify(cgroup, exitCode, stderrTail, stderr => stderr.StartsWith("bwrap:", StringComparison.Ordinal));

        public void Dispose()
        {
            // The cgroup is empty once disposed, so no process holds the uid any more.
            cgroup.Dispose();
            HostUids.Release(hostUid);
        }
    }
}
