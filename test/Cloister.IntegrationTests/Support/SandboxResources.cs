using Cloister.Protocol;

namespace Cloister.IntegrationTests.Support;

/// <summary>
/// The host resources of one process's sandboxes, found by the owner every sandbox id names (<c>rs-PID-START-…</c>,
/// <c>bw-PID-START-…</c>): cgroup directories in every hierarchy, runsc bundles and runsc state files, and its function
/// package directory (<c>$TMPDIR/cloister-functions-PID-START-…</c>). Other processes' sandboxes on this machine (other
/// servers, other test runs) are never counted.
/// </summary>
public static class SandboxResources
{
    private const string CgroupRoot = "/sys/fs/cgroup";
    private const string BundleDirectory = "/run/cloister-sandbox";

    /// <summary>The owner name of running process <paramref name="pid"/> (read while it runs: its start time goes with it).</summary>
    public static string OwnerOf(int pid)
        => $"{pid}-{ProcessIdentity.StartTime(pid) ?? throw new InvalidOperationException($"process {pid} is not running")}";

    /// <summary>Every sandbox resource of <paramref name="owner"/> on this machine, as paths.</summary>
    public static IReadOnlyList<string> Of(string owner)
    {
        bool Owned(string path) => Path.GetFileName(path) is { } name
            && (name.StartsWith($"rs-{owner}-", StringComparison.Ordinal) || name.StartsWith($"bw-{owner}-", StringComparison.Ordinal));

        var cgroups = Directory.EnumerateDirectories(CgroupRoot)
            .Select(hierarchy => Path.Combine(hierarchy, "cloister"))
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories);
        var bundles = Directory.Exists(BundleDirectory) ? Directory.EnumerateDirectories(BundleDirectory) : [];
        var state = Path.Combine(BundleDirectory, "runsc-state");
        var stateFiles = Directory.Exists(state) ? Directory.EnumerateFiles(state) : [];
        var packages = Directory.EnumerateDirectories(Path.GetTempPath(), $"cloister-functions-{owner}-*");
        return [.. cgroups.Concat(bundles).Concat(stateFiles).Where(Owned).Concat(packages)];
    }

    /// <summary>How many sandboxes of <paramref name="owner"/> have host resources.</summary>
    public static int Sandboxes(string owner) => Of(owner)
        .Select(path => Path.GetFileName(path).Split('_')[0]) // runsc state files are ID_sandbox:ID.state
        .Where(name => !name.StartsWith("cloister-functions-", StringComparison.Ordinal))
        .Distinct(StringComparer.Ordinal)
        .Count();

    /// <summary>Waits until <paramref name="owner"/> holds no sandbox resource; fails naming what is left after <paramref name="timeout"/>.</summary>
    public static async Task AssertNoneLeftAsync(string owner, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<string> left;
        while ((left = Of(owner)).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.True(left.Count == 0, $"sandboxes of {owner} left behind:\n  {string.Join("\n  ", left)}");
    }
}
