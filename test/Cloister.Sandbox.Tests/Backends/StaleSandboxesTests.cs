using Cloister.Sandbox.Backends;

namespace Cloister.Sandbox.Tests.Backends;

/// <summary>
/// The sweep of a dead host's leftovers, on a directory tree laid out like /sys/fs/cgroup and /run/cloister-sandbox (the real
/// ones are shared with every sandbox running on this machine). A file inside a directory stands for a process in a cgroup:
/// both make the directory impossible to remove.
/// </summary>
public sealed class StaleSandboxesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cloister-stale-").FullName;

    private string Cgroups => Path.Combine(_root, "cgroup");

    private string Bundles => Path.Combine(_root, "run");

    [Fact]
    public void ItRemovesEmptyCgroupsAndOrphanedBundles_AndKeepsBusyCgroupsAndTheirBundles()
    {
        var deadMemory = Make(Cgroups, "memory", "cloister", "rs-dead");
        var deadNested = Make(Cgroups, "cpu", "cloister", "rs-dead", "runsc-child");
        var deadPids = Make(Cgroups, "pids", "cloister", "rs-dead");
        var livePids = Make(Cgroups, "pids", "cloister", "rs-live");
        File.WriteAllText(Path.Combine(livePids, "cgroup.procs"), "1234");
        var deadBundle = Make(Bundles, "rs-dead", "rootfs", "etc");
        var liveBundle = Make(Bundles, "rs-live", "rootfs");
        var state = Make(Bundles, "runsc-state");
        File.WriteAllText(Path.Combine(state, "rs-dead_sandbox:rs-dead.state"), "{}");
        File.WriteAllText(Path.Combine(state, "rs-live_sandbox:rs-live.state"), "{}");

        StaleSandboxes.Sweep(Cgroups, Bundles, DateTime.UtcNow.AddMinutes(1));

        Assert.False(Directory.Exists(deadMemory));
        Assert.False(Directory.Exists(deadNested));
        Assert.False(Directory.Exists(Path.GetDirectoryName(deadNested)));
        Assert.False(Directory.Exists(deadPids));
        Assert.True(Directory.Exists(livePids));
        Assert.False(Directory.Exists(Path.GetDirectoryName(deadBundle)));
        Assert.True(Directory.Exists(liveBundle));
        Assert.Equal(["rs-live_sandbox:rs-live.state"], Directory.EnumerateFiles(state).Select(Path.GetFileName));
    }

    [Fact]
    public void ItLeavesRecentLeftoversAlone()
    {
        var young = Make(Cgroups, "pids", "cloister", "bw-young");
        var bundle = Make(Bundles, "rs-young");

        StaleSandboxes.Sweep(Cgroups, Bundles, DateTime.UtcNow.AddMinutes(-10));

        Assert.True(Directory.Exists(young));
        Assert.True(Directory.Exists(bundle));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string Make(params string[] parts)
    {
        var path = Path.Combine(parts);
        Directory.CreateDirectory(path);
        return path;
    }
}
