using Cloister.Protocol;
using Cloister.Sandbox.Backends;

namespace Cloister.Sandbox.Tests.Backends;

/// <summary>
/// The sweep of dead hosts' leftovers, on a directory tree laid out like /sys/fs/cgroup and /run/cloister-sandbox (the real
/// ones are shared with every sandbox running on this machine). A file inside a directory stands for a process in a cgroup:
/// both make the directory impossible to remove. Owners are decided by the given liveness check, never by this machine's pids.
/// </summary>
public sealed class StaleSandboxesTests : IDisposable
{
    private const string Dead = "rs-4001-777-0123456789abcdef0123456789abcdef";
    private const string DeadBwrap = "bw-4001-777-fedcba9876543210fedcba9876543210";
    private const string Live = "rs-4002-888-00112233445566778899aabbccddeeff";

    /// <summary>The same pid as <see cref="Dead"/>'s owner, reused by a live process that started later.</summary>
    private const string Reused = "rs-4001-999-ffeeddccbbaa99887766554433221100";

    private readonly string _root = Directory.CreateTempSubdirectory("cloister-stale-").FullName;

    private string Cgroups => Path.Combine(_root, "cgroup");

    private string Bundles => Path.Combine(_root, "run");

    [Fact]
    public void ADeadOwnersSandboxes_AreRemovedEverywhere_AndALiveOwnersKept_EvenWhenTheirPidIsTheSame()
    {
        var dead = new[] { "memory", "pids", "freezer", "cpu" }.Select(h => Make(Cgroups, h, "cloister", Dead)).ToList();
        var deadNested = Make(Cgroups, "cpu", "cloister", Dead, "gvisor");
        var deadBwrap = Make(Cgroups, "pids", "cloister", DeadBwrap);
        var live = Make(Cgroups, "pids", "cloister", Live);
        var reused = Make(Cgroups, "memory", "cloister", Reused);
        var deadBundle = Make(Bundles, Dead, "rootfs", "etc");
        var liveBundle = Make(Bundles, Live, "rootfs");
        var state = Make(Bundles, RunscBackend.StateDirectoryName);
        foreach (var id in new[] { Dead, Live, Reused })
        {
            File.WriteAllText(Path.Combine(state, $"{id}_sandbox:{id}.state"), "{}");
            File.WriteAllText(Path.Combine(state, $"{id}_sandbox:{id}.lock"), "");
        }

        var removed = StaleSandboxes.Sweep(Cgroups, Bundles, DateTime.UtcNow.AddMinutes(-10), IsAlive);

        Assert.Equal([DeadBwrap, Dead], removed.Order(StringComparer.Ordinal));
        Assert.All(dead.Append(deadNested).Append(deadBwrap), dir => Assert.False(Directory.Exists(dir), dir));
        Assert.True(Directory.Exists(live));
        Assert.True(Directory.Exists(reused));
        Assert.False(Directory.Exists(Path.GetDirectoryName(Path.GetDirectoryName(deadBundle))));
        Assert.True(Directory.Exists(liveBundle));
        Assert.Equal(
            [$"{Reused}_sandbox:{Reused}.lock", $"{Reused}_sandbox:{Reused}.state", $"{Live}_sandbox:{Live}.lock", $"{Live}_sandbox:{Live}.state"],
            Directory.EnumerateFiles(state).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void OwnerlessLeftoversOfAnOlderVersion_AreRemovedWhenOldAndUnused()
    {
        var deadMemory = Make(Cgroups, "memory", "cloister", "rs-dead");
        var deadNested = Make(Cgroups, "cpu", "cloister", "rs-dead", "runsc-child");
        var deadPids = Make(Cgroups, "pids", "cloister", "rs-dead");
        var livePids = Make(Cgroups, "pids", "cloister", "rs-live");
        File.WriteAllText(Path.Combine(livePids, "cgroup.procs"), "1234");
        var deadBundle = Make(Bundles, "rs-dead", "rootfs", "etc");
        var liveBundle = Make(Bundles, "rs-live", "rootfs");
        var state = Make(Bundles, RunscBackend.StateDirectoryName);
        File.WriteAllText(Path.Combine(state, "rs-dead_sandbox:rs-dead.state"), "{}");
        File.WriteAllText(Path.Combine(state, "rs-live_sandbox:rs-live.state"), "{}");

        StaleSandboxes.Sweep(Cgroups, Bundles, DateTime.UtcNow.AddMinutes(1), IsAlive);

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
    public void RecentOwnerlessLeftovers_AreLeftAlone()
    {
        var young = Make(Cgroups, "pids", "cloister", "bw-young");
        var bundle = Make(Bundles, "rs-young");

        StaleSandboxes.Sweep(Cgroups, Bundles, DateTime.UtcNow.AddMinutes(-10), IsAlive);

        Assert.True(Directory.Exists(young));
        Assert.True(Directory.Exists(bundle));
    }

    [Fact]
    public void ThisProcess_IsALiveOwner_AndItsSandboxIdsNameIt()
    {
        var id = SandboxOwner.NewId("rs");

        Assert.True(SandboxOwner.TryParse(id, out var pid, out var start));
        Assert.Equal(Environment.ProcessId, pid);
        Assert.True(ProcessIdentity.IsAlive(pid, start));
        Assert.False(ProcessIdentity.IsAlive(pid, start + 1));
        Assert.False(SandboxOwner.TryParse("rs-0123456789abcdef0123456789abcdef", out _, out _));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>4002 started at 888 and 4001 started at 999 run; 4001 that started at 777 is gone.</summary>
    private static bool IsAlive(int pid, long start) => (pid, start) is (4002, 888) or (4001, 999);

    private static string Make(params string[] parts)
    {
        var path = Path.Combine(parts);
        Directory.CreateDirectory(path);
        return path;
    }
}
