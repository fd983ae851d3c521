using Cloister.Protocol;

namespace Cloister.Sandbox.Backends;

/// <summary>
/// Removes what the sandboxes of a host process that died without cleaning up (SIGKILL, a crash, power loss) left behind:
/// their processes (a gVisor sandbox outlives a killed worker), their cgroups under <c>/sys/fs/cgroup/*/cloister</c>, and
/// their runsc bundles and state under <c>/run/cloister-sandbox</c>. Runs once per process, when its first sandbox backend is
/// created: a worker that replaces a killed one, or the next <c>serve</c>, clears its predecessor's leftovers at start.
/// </summary>
/// <remarks>
/// Never touches a live process's sandboxes, whoever runs it (another server, another test run): a sandbox id names its
/// owner's pid and start time (<see cref="SandboxOwner"/>, <see cref="ProcessIdentity"/>), and only ids whose owner is gone are swept. Names without an
/// owner come from older Cloister versions: their cgroups are removed only when empty (the kernel refuses to remove one that
/// holds a process or a child cgroup) and older than <see cref="LegacyMinimumAge"/>, their bundles only once their cgroup is gone.
/// </remarks>
internal static class StaleSandboxes
{
    /// <summary>Younger ownerless leftovers may belong to a sandbox an older Cloister is creating right now.</summary>
    private static readonly TimeSpan LegacyMinimumAge = TimeSpan.FromMinutes(10);

    private static int _swept;

    /// <summary>Sweeps once per process; later calls return at once.</summary>
    public static void SweepOnce()
    {
        if (Interlocked.Exchange(ref _swept, 1) == 1)
        {
            return;
        }

        try
        {
            Sweep(SandboxCgroup.Root, RunscBackend.BaseDir, DateTime.UtcNow - LegacyMinimumAge, ProcessIdentity.IsAlive);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the next process to start sweeps again.
        }
    }

    /// <summary>
    /// Kills and removes the sandboxes under <paramref name="cgroupRoot"/> and <paramref name="bundleDirectory"/> whose owner is
    /// not alive (<paramref name="isAlive"/>), and ownerless leftovers older than <paramref name="legacyOlderThan"/> that nothing uses.
    /// Returns the ids of the dead owners' sandboxes it removed.
    /// </summary>
    internal static IReadOnlyList<string> Sweep(string cgroupRoot, string bundleDirectory, DateTime legacyOlderThan, Func<int, long, bool> isAlive)
    {
        bool Dead(string id) => SandboxOwner.TryParse(id, out var pid, out var start) && !isAlive(pid, start);

        var removed = new List<string>();
        var ids = Directory.EnumerateDirectories(cgroupRoot)
            .Select(hierarchy => hierarchy + "/cloister")
            .Where(Directory.Exists)
            .SelectMany(parent => Directory.EnumerateDirectories(parent).Select(Path.GetFileName))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        foreach (var id in ids)
        {
            // Kills what still runs in it (the processes of a gVisor sandbox whose worker was killed), then removes it everywhere.
            if (Dead(id!) && Try(() => SandboxCgroup.Open(cgroupRoot, id!).Dispose()))
            {
                removed.Add(id!);
            }
        }

        SweepLegacyCgroups(cgroupRoot, legacyOlderThan);
        if (!Directory.Exists(bundleDirectory))
        {
            return removed;
        }

        bool Orphaned(string path, string id) => SandboxOwner.TryParse(id, out _, out _)
            ? Dead(id)
            : File.GetLastWriteTimeUtc(path) < legacyOlderThan
                && !Directory.Exists(cgroupRoot + "/pids" + SandboxCgroup.RelativePath(id));

        foreach (var bundle in Directory.EnumerateDirectories(bundleDirectory, "rs-*"))
        {
            if (Orphaned(bundle, Path.GetFileName(bundle)))
            {
                Try(() => Directory.Delete(bundle, recursive: true));
            }
        }

        // runsc's own state: "<id>_sandbox:<id>.state" and ".lock" files.
        var state = Path.Combine(bundleDirectory, RunscBackend.StateDirectoryName);
        if (Directory.Exists(state))
        {
            foreach (var file in Directory.EnumerateFiles(state, "rs-*"))
            {
                var name = Path.GetFileName(file);
                if (Orphaned(file, name[..Math.Max(0, name.IndexOf('_', StringComparison.Ordinal))]))
                {
                    Try(() => File.Delete(file));
                }
            }
        }

        return removed;
    }

    /// <summary>Removes empty cgroups without an owner in their name that are older than <paramref name="olderThan"/>.</summary>
    private static void SweepLegacyCgroups(string cgroupRoot, DateTime olderThan)
    {
        foreach (var hierarchy in Directory.EnumerateDirectories(cgroupRoot))
        {
            var parent = hierarchy + "/cloister";
            if (!Directory.Exists(parent))
            {
                continue;
            }

            foreach (var top in Directory.EnumerateDirectories(parent).Where(dir => !SandboxOwner.TryParse(Path.GetFileName(dir), out _, out _)))
            {
                foreach (var dir in SandboxCgroup.Subtree(top))
                {
                    if (Directory.GetLastWriteTimeUtc(dir) < olderThan)
                    {
                        TryRemove(dir);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Runs one removal; false when it failed. Other processes may sweep the same dead sandbox at the same time (a
    /// replacement worker and a test run starting together), so what vanishes meanwhile must not stop the rest of the sweep.
    /// </summary>
    private static bool Try(Action remove)
    {
        try
        {
            remove();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void TryRemove(string cgroup)
    {
        try
        {
            Directory.Delete(cgroup);
        }
        catch (IOException)
        {
            // In use (a live sandbox of an older host) or not empty: not stale.
        }
    }
}
