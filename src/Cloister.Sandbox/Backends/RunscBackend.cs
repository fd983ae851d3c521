using System.Text.Json.Nodes;

namespace Cloister.Sandbox.Backends;

/// <summary>
/// Runs sandboxes in gVisor: <c>runsc --network=none run</c> of an OCI bundle whose root is an
/// empty read-only directory with <c>/usr</c> (and its links) bound read-only, a private tmpfs,
/// uid and gid 65534, rlimits inside the sandbox, and host cgroups around the sentry and gofer for
/// memory, pids and CPU time. <c>runsc do</c> is not used: it shows the whole host filesystem.
/// </summary>
/// <remarks>Needs root. Bundles and runsc state live under <c>/run/cloister-sandbox</c> and are removed when each sandbox is disposed.</remarks>
public sealed class RunscBackend : ISandboxBackend
{
    public const string BackendName = "runsc";

    /// <summary>Host memory the gVisor sentry and gofer need on top of the program's own limit.</summary>
    private const long SentryOverheadBytes = 96L * 1024 * 1024;

    /// <summary>Host threads of the sentry and gofer, on top of the program's pids (which gVisor bounds with RLIMIT_NPROC).</summary>
    private const int SentryThreads = 256;

    /// <summary>
    /// Host threads per sandboxed task: on the ptrace platform every task is backed by host stub threads
    /// (64 tasks measured ~390 host pids). Too small a host limit makes the sentry itself fail to start a
    /// thread and exit 2 (a Go fatal error) instead of refusing the sandboxed fork with EAGAIN.
    /// </summary>
    private const int HostThreadsPerTask = 8;

    /// <summary>
    /// The sandbox's first process (pid 1 inside) is a shell that runs the program as its child and waits for it: orphans of the
    /// program's children are reparented to pid 1, and the shell's wait reaps them, which a runtime such as Node (whose only
    /// children are its own) would not. Without <c>; exit $?</c> the shell would exec the program in its own place.
    /// </summary>
    private static readonly string[] InitArguments = ["/bin/sh", "-c", "\"$@\"; exit $?", "sandbox-init"];

    internal const string BaseDir = "/run/cloister-sandbox";

    /// <summary>The runsc <c>--root</c> under <see cref="BaseDir"/>, shared by every host on the machine (ids never collide).</summary>
    internal const string StateDirectoryName = "runsc-state";

    private readonly string _runsc;
    private readonly string _stateDir = Path.Combine(BaseDir, StateDirectoryName);

    internal RunscBackend(string runsc)
    {
        _runsc = runsc;
    }

    public string Name => BackendName;

    public async Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        ct.ThrowIfCancellationRequested();
        var limits = spec.Limits;
        var id = SandboxOwner.NewId("rs");
        var bundle = Path.Combine(BaseDir, id);
        SandboxCgroup? cgroup = null;
        try
        {
            Directory.CreateDirectory(_stateDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            WriteBundle(bundle, id, spec);
            cgroup = SandboxCgroup.Create(id, (limits.MemoryMiB * 1024L * 1024L) + SentryOverheadBytes, SentryThreads + (HostThreadsPerTask * limits.Pids));
            var process = await SandboxLauncher.StartAsync(cgroup, [_runsc, "--network=none", "--root", _stateDir, "run", "--bundle", bundle, id]).ConfigureAwait(false);
            return new SandboxProcess(process, new Host(cgroup, _stateDir, id, bundle), limits);
        }
        catch
        {
            cgroup?.Dispose();
            TryDeleteDirectory(bundle);
            throw;
        }
    }

    private static void WriteBundle(string bundle, string id, SandboxSpec spec)
    {
        var limits = spec.Limits;
        var rootfs = Path.Combine(bundle, "rootfs");
        Directory.CreateDirectory(rootfs, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        foreach (var dir in new[] { "usr", "etc", "proc", "dev", "tmp", "sys" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, dir));
        }

        foreach (var (link, target) in new[] { ("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"), ("sbin", "usr/sbin") })
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, link), target);
        }

        var mounts = new JsonArray
        {
            Mount("/proc", "proc", "proc", []),
            Mount("/dev", "tmpfs", "tmpfs", ["nosuid", "mode=755"]),
            Mount("/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=1777", $"size={limits.TmpfsMiB}m"]),
            Mount("/usr", "bind", "/usr", ["rbind", "ro"]),
        };
        foreach (var file in SandboxLauncher.EtcFiles.Where(f => Directory.Exists(f) || File.Exists(f)))
        {
            AddMountPoint(rootfs, file, Directory.Exists(file));
            mounts.Add(Mount(file, "bind", file, ["rbind", "ro"]));
        }

        foreach (var (host, inside) in spec.ReadOnlyBinds)
        {
            AddMountPoint(rootfs, inside, Directory.Exists(host));
            mounts.Add(Mount(inside, "bind", host, ["rbind", "ro"]));
        }

        static JsonObject Rlimit(string type, long value) => new() { ["type"] = type, ["hard"] = value, ["soft"] = value };
        var config = new JsonObject
        {
            ["ociVersion"] = "1.0.2",
            ["process"] = new JsonObject
            {
                ["terminal"] = false,
                ["user"] = new JsonObject { ["uid"] = SandboxLauncher.SandboxUid, ["gid"] = SandboxLauncher.SandboxUid },
                ["args"] = new JsonArray([.. InitArguments.Append(spec.Executable).Concat(spec.Arguments).Select(a => JsonValue.Create(a))]),
                ["env"] = new JsonArray([.. SandboxLauncher.Environment(spec, ownPidNamespace: true).Select(kv => JsonValue.Create($"{kv.Key}={kv.Value}"))]),
                ["cwd"] = "/tmp",
                ["noNewPrivileges"] = true,
                ["capabilities"] = new JsonObject { ["bounding"] = new JsonArray(), ["effective"] = new JsonArray(), ["permitted"] = new JsonArray() },
                ["rlimits"] = new JsonArray
                {
                    // Address space gets 2 GiB of headroom because runtimes reserve far more than they touch (node 18 does not start under 1 GiB); the cgroup enforces the real limit.
                    Rlimit("RLIMIT_AS", SandboxLauncher.AddressSpaceBytes(limits)),
                    Rlimit("RLIMIT_NPROC", limits.Pids),
                    Rlimit("RLIMIT_FSIZE", limits.TmpfsMiB * 1024L * 1024),
                    Rlimit("RLIMIT_NOFILE", 256),
                    Rlimit("RLIMIT_CORE", 0),
                },
            },
            ["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = true },
            ["hostname"] = "sandbox",
            ["mounts"] = mounts,
            ["linux"] = new JsonObject
            {
                // Under the sandbox's own cgroups, whose limits then bound the sentry and gofer; without it runsc moves them to /<id>, outside every limit.
                ["cgroupsPath"] = SandboxCgroup.RelativePath(id) + "/gvisor",
                ["namespaces"] = new JsonArray(
                    new JsonObject { ["type"] = "pid" },
                    new JsonObject { ["type"] = "network" },
                    new JsonObject { ["type"] = "ipc" },
                    new JsonObject { ["type"] = "uts" },
                    new JsonObject { ["type"] = "mount" }),
            },
        };
        File.WriteAllText(Path.Combine(bundle, "config.json"), config.ToJsonString());
    }

    private static JsonObject Mount(string destination, string type, string source, string[] options) => new()
    {
        ["destination"] = destination,
        ["type"] = type,
        ["source"] = source,
        ["options"] = new JsonArray([.. options.Select(o => JsonValue.Create(o))]),
    };

    private static void AddMountPoint(string rootfs, string inside, bool directory)
    {
        var path = Path.Combine(rootfs, inside.TrimStart('/'));
        if (directory)
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, []);
        }
    }

    /// <summary>Deletes runsc's state of sandbox <paramref name="id"/> (<c>ID_sandbox:ID.state</c> and <c>.lock</c>).</summary>
    internal static void DeleteStateFiles(string stateDir, string id)
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(stateDir, id + "_*"))
            {
                File.Delete(file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The next start's sweep removes what is left.
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class Host(SandboxCgroup cgroup, string stateDir, string id, string bundle) : ISandboxHost
    {
        public void KillAll() => cgroup.KillAll();

        public TimeSpan CpuUsed() => cgroup.CpuUsed();

        public bool HitPidsLimit() => cgroup.HitPidsLimit();

        public SandboxExitReason Classify(int exitCode, string stderrTail)
            => SandboxLauncher.Classify(cgroup, exitCode, stderrTail, stderr => stderr.Contains("running container: ", StringComparison.Ordinal));

        public void Dispose()
        {
            cgroup.Dispose();

            // Every process of the sandbox is dead now (the cgroup was emptied), so runsc's state is only files: removing them
            // is what `runsc delete --force` would do, without starting a process per sandbox (a stop with many warm sandboxes).
            DeleteStateFiles(stateDir, id);
            TryDeleteDirectory(bundle);
        }
    }
}
