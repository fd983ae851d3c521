using System.Globalization;

namespace Cloister.Sandbox.Backends;

/// <summary>
/// The host cgroups (v1 memory, pids, cpuacct, freezer) that hold every host process of one sandbox, at
/// <c>/cloister/&lt;id&gt;</c> in each hierarchy. They bound memory and pids, measure CPU time, and let the
/// host kill the whole sandbox whatever it forked, without racing pid reuse (it freezes first).
/// </summary>
/// <remarks>Owned by one <see cref="SandboxProcess"/>; <see cref="Dispose"/> kills what is left and removes the directories.</remarks>
internal sealed class SandboxCgroup : IDisposable
{
    /// <summary>Where the cgroup v1 hierarchies are mounted.</summary>
    public const string Root = "/sys/fs/cgroup";

    private readonly string _root;
    private readonly string _relative;
    private readonly string _memory;
    private readonly string _pids;
    private readonly string _cpuacct;
    private readonly string _freezer;

    private SandboxCgroup(string root, string id)
    {
        _root = root;
        _relative = RelativePath(id);
        _memory = $"{root}/memory{_relative}";
        _pids = $"{root}/pids{_relative}";
        _cpuacct = $"{root}/cpuacct{_relative}";
        _freezer = $"{root}/freezer{_relative}";
    }

    /// <summary>
    /// The sandbox's cgroup path, the same in every hierarchy so that runsc (which takes one path for
    /// all controllers) can nest its own cgroups under it.
    /// </summary>
    public static string RelativePath(string id) => $"/cloister/{id}";

    /// <summary>The cgroup.procs files a wrapper writes its pid into before exec'ing the sandbox.</summary>
    public string JoinList => $"{_memory} {_pids} {_cpuacct} {_freezer}";

    public static SandboxCgroup Create(string id, long memoryBytes, int pids)
    {
        var cgroup = new SandboxCgroup(Root, id);
        try
        {
            foreach (var controller in new[] { "memory", "pids", "cpuacct", "freezer" })
            {
                if (!Directory.Exists(Path.Combine(Root, controller)))
                {
                    throw new SandboxException($"cgroup v1 controller '{controller}' is not mounted at {Root}/{controller}; the sandbox needs memory, pids, cpuacct and freezer");
                }

                Directory.CreateDirectory($"{Root}/{controller}{cgroup._relative}");
            }

            File.WriteAllText(Path.Combine(cgroup._memory, "memory.limit_in_bytes"), memoryBytes.ToString(CultureInfo.InvariantCulture));
            TryWrite(Path.Combine(cgroup._memory, "memory.memsw.limit_in_bytes"), memoryBytes.ToString(CultureInfo.InvariantCulture));
            File.WriteAllText(Path.Combine(cgroup._pids, "pids.max"), pids.ToString(CultureInfo.InvariantCulture));
        }
        catch
        {
            cgroup.Dispose();
            throw;
        }

        return cgroup;
    }

    /// <summary>
    /// The cgroups of an existing sandbox <paramref name="id"/> under <paramref name="root"/>, whatever of them exists: to kill
    /// what a dead host left running in them and remove them (<see cref="Dispose"/>).
    /// </summary>
    public static SandboxCgroup Open(string root, string id) => new(root, id);

    /// <summary>CPU time used by everything in the sandbox so far.</summary>
    public TimeSpan CpuUsed()
    {
        try
        {
            var ns = long.Parse(File.ReadAllText(Path.Combine(_cpuacct, "cpuacct.usage")).Trim(), CultureInfo.InvariantCulture);
            return TimeSpan.FromTicks(ns / 100);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>Whether the memory limit was hit (an OOM kill, or allocations refused at the limit).</summary>
    public bool HitMemoryLimit()
    {
        try
        {
            var oom = File.ReadAllLines(Path.Combine(_memory, "memory.oom_control"))
                .FirstOrDefault(line => line.StartsWith("oom_kill ", StringComparison.Ordinal));
            if (oom is not null && oom.Split(' ')[1] != "0")
            {
                return true;
            }

            if (File.ReadAllText(Path.Combine(_memory, "memory.failcnt")).Trim() != "0")
            {
                return true;
            }

            // runsc nests its own cgroup below this one and deletes it on exit, taking the OOM counters
            // with it; the high-water mark of this one still shows the limit was reached.
            var limit = ReadLong("memory.limit_in_bytes");
            return ReadLong("memory.max_usage_in_bytes") >= limit - (limit / 32);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private long ReadLong(string file) =>
        long.Parse(File.ReadAllText(Path.Combine(_memory, file)).Trim(), CultureInfo.InvariantCulture);

    /// <summary>Whether a fork was refused at the pids limit.</summary>
    public bool HitPidsLimit()
    {
        try
        {
            var events = File.ReadAllText(Path.Combine(_pids, "pids.events"));
            return !events.Contains("max 0", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// SIGKILLs every process in the sandbox and its nested cgroups. The sandbox is frozen while its
    /// pids are read and signalled: a frozen task cannot exit, so its pid cannot be reused by a
    /// process of another sandbox in between (a fork bomb churns through the pid space fast).
    /// </summary>
    public void KillAll()
    {
        for (var round = 0; round < 100; round++)
        {
            var frozen = Freeze();
            var pids = ReadProcs();
            foreach (var pid in pids)
            {
                HostTools.KillPid(pid);
            }

            TryWrite(Path.Combine(_freezer, "freezer.state"), "THAWED");
            if (pids.Count == 0)
            {
                return;
            }

            if (!frozen)
            {
                Thread.Sleep(round < 10 ? 1 : 10);
            }
        }
    }

    public void Dispose()
    {
        KillAll();

        // Every hierarchy, not only ours: runsc creates the same path in each (cpu, cpuset, devices, ...) and removes only its own leaf.
        var dirs = Directory.EnumerateDirectories(_root)
            .Select(hierarchy => hierarchy + _relative)
            .SelectMany(Subtree)
            .ToList();
        foreach (var dir in dirs)
        {
            for (var attempt = 0; attempt < 50 && Directory.Exists(dir); attempt++)
            {
                try
                {
                    Directory.Delete(dir);
                }
                catch (IOException)
                {
                    Thread.Sleep(10);
                }
            }
        }
    }

    private bool Freeze()
    {
        var state = Path.Combine(_freezer, "freezer.state");
        TryWrite(state, "FROZEN");
        for (var attempt = 0; attempt < 200; attempt++)
        {
            try
            {
                if (File.ReadAllText(state).Trim() == "FROZEN")
                {
                    return true;
                }
            }
            catch (IOException)
            {
                return false;
            }

            Thread.Sleep(1);
        }

        return false;
    }

    private List<int> ReadProcs()
    {
        var result = new List<int>();
        if (!Directory.Exists(_freezer))
        {
            return result;
        }

        foreach (var dir in Subtree(_freezer))
        {
            try
            {
                foreach (var line in File.ReadAllLines(Path.Combine(dir, "cgroup.procs")))
                {
                    if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                    {
                        result.Add(pid);
                    }
                }
            }
            catch (IOException)
            {
            }
        }

        return result;
    }

    /// <summary>
    /// <paramref name="dir"/> and every cgroup below it, deepest first (none when it does not exist). A cgroup that vanishes
    /// meanwhile (runsc removing its own as the sandbox dies, another process sweeping the same dead sandbox) restarts the walk.
    /// </summary>
    internal static List<string> Subtree(string dir)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return Directory.Exists(dir) ? [.. Directory.EnumerateDirectories(dir, "*", SearchOption.AllDirectories).Reverse().Append(dir)] : [];
            }
            catch (DirectoryNotFoundException) when (attempt < 10)
            {
            }
            catch (IOException)
            {
                return Directory.Exists(dir) ? [dir] : [];
            }
        }
    }

    private static void TryWrite(string path, string value)
    {
        try
        {
            if (File.Exists(path))
            {
                File.WriteAllText(path, value);
            }
        }
        catch (IOException)
        {
        }
    }
}
