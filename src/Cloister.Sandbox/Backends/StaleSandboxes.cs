namespace Cloister.Sandbox.Backends;

/// <summary>
/// Removes what sandboxes of a host that died without cleaning up (SIGKILL, power loss) left behind:
/// their empty cgroups under <c>/sys/fs/cgroup/*/cloister</c>, and runsc bundles and runsc state files
/// under <c>/run/cloister-sandbox</c>. Runs once per process, when the first sandbox starts.
/// </summary>
/// <remarks>
/// Safe beside other live Cloister hosts: a cgroup directory is only removed when it is older than
/// <see cref="MinimumAge"/> and empty (the kernel refuses to remove a cgroup that holds a process or a
/// child cgroup), and a bundle only when its sandbox's cgroup no longer exists.
/// </remarks>
internal static class StaleSandboxes
{
    /// <summary>Younger leftovers may belong to a sandbox being created right now by another host.</summary>
    private static readonly TimeSpan MinimumAge = TimeSpan.FromMinutes(10);

    private static int _swept;

    /// <summary>Sweeps once per process; later calls return at once.</summary>
    public static void SweepOnce(string bundleDirectory)
    {
        if (Interlocked.Exchange(ref _swept, 1) == 1)
        {
            return;
        }

        try
        {
            Sweep("/sys/fs/cgroup", bundleDirectory, DateTime.UtcNow - MinimumAge);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: leftovers cost a directory each, never correctness.
        }
    }

    /// <summary>Removes empty cgroups under <c>&lt;cgroupRoot&gt;/*/cloister</c> and bundles whose pids cgroup is gone, both older than <paramref name="olderThan"/>.</summary>
    internal static void Sweep(string cgroupRoot, string bundleDirectory, DateTime olderThan)
    {
        foreach (var hierarchy in Directory.EnumerateDirectories(cgroupRoot))
        {
            var parent = hierarchy + "/cloister";
            if (!Directory.Exists(parent))
            {
                continue;
            }

            foreach (var dir in Directory.EnumerateDirectories(parent, "*", SearchOption.AllDirectories).Reverse())
            {
                if (Directory.GetLastWriteTimeUtc(dir) < olderThan)
                {
                    TryRemove(dir);
                }
            }
        }

        if (!Directory.Exists(bundleDirectory))
        {
            return;
        }

        bool Orphaned(string path, string id) =>
            File.GetLastWriteTimeUtc(path) < olderThan && !Directory.Exists(cgroupRoot + "/pids" + SandboxCgroup.RelativePath(id));

        foreach (var bundle in Directory.EnumerateDirectories(bundleDirectory, "rs-*"))
        {
            if (Orphaned(bundle, Path.GetFileName(bundle)))
            {
                Directory.Delete(bundle, recursive: true);
            }
        }

        // runsc's own state: "<id>_sandbox:<id>.state" and ".lock" files.
        var state = Path.Combine(bundleDirectory, "runsc-state");
        if (Directory.Exists(state))
        {
            foreach (var file in Directory.EnumerateFiles(state, "rs-*"))
            {
                var name = Path.GetFileName(file);
                if (Orphaned(file, name[..Math.Max(0, name.IndexOf('_', StringComparison.Ordinal))]))
                {
                    File.Delete(file);
                }
            }
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
            // In use (a live sandbox of another host) or not empty: not stale.
        }
    }
}
