using System.Diagnostics;
using System.Globalization;
using Cloister.Sandbox.Backends;
using static Cloister.Sandbox.Tests.Backends.SandboxHarness;

namespace Cloister.Sandbox.Tests.Backends;

/// <summary>Runs alone: it lowers this test process's RLIMIT_NPROC, which every launcher started meanwhile inherits.</summary>
[CollectionDefinition(nameof(ProcessRlimitCollection), DisableParallelization = true)]
public sealed class ProcessRlimitCollection;

/// <summary>A fork bomb held to its own pids cgroup leaves other bubblewrap sandboxes able to fork.</summary>
[Collection(nameof(ProcessRlimitCollection))]
public sealed class ProcessCountIsolationTests
{
    [Fact]
    public async Task ItLetsAnotherSandboxForkWhileAForkBombIsAtItsLimit()
    {
        // A host whose per-uid process limit (RLIMIT_NPROC, inherited by the launchers) is 48. The bomb may hold up to
        // 60 processes in its pids cgroup and forks until refused; were both sandboxes one host uid, the bomb would use
        // up the uid's 48 and the neighbour could not start or fork.
        const int HostNproc = 48;
        var bombLimits = new SandboxLimits { Pids = 60, CpuSeconds = 30, WallTimeout = TimeSpan.FromSeconds(30) };
        const string bomb = """
            import os, sys, time
            n = 0
            while True:
                try:
                    if os.fork() == 0:
                        time.sleep(30); os._exit(0)
                    n += 1
                except OSError:
                    break
            print(n, flush=True)
            time.sleep(30)
            """;
        const string forker = """
            import os
            n = 0
            for i in range(16):
                if os.fork() == 0:
                    os._exit(0)
                os.wait()
                n += 1
            print(n)
            """;
        var hard = SoftNproc(out var soft);
        SetNproc(HostNproc, hard);
        try
        {
            await using var holder = await Backend("bwrap").StartAsync(PythonSpec(bomb, bombLimits), CancellationToken.None);
            var held = await new StreamReader(holder.Output).ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(int.TryParse(held, CultureInfo.InvariantCulture, out var children) && children >= 40, $"the fork bomb held only {held} processes");

            var (exit, output, _) = await RunAsync("bwrap", PythonSpec(forker));

            Assert.True(exit.Reason == SandboxExitReason.Exited && exit.ExitCode == 0, $"{exit}");
            Assert.Equal("16", output.Trim());
        }
        finally
        {
            SetNproc(soft, hard);
        }
    }

    private static long SoftNproc(out long soft)
    {
        var line = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max processes", StringComparison.Ordinal));
        var fields = line["Max processes".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        static long Parse(string value) => value == "unlimited" ? -1 : long.Parse(value, CultureInfo.InvariantCulture);
        soft = Parse(fields[0]);
        return Parse(fields[1]);
    }

    private static void SetNproc(long soft, long hard)
    {
        static string S(long value) => value < 0 ? "unlimited" : value.ToString(CultureInfo.InvariantCulture);
        using var prlimit = Process.Start(new ProcessStartInfo("prlimit", ["--pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), $"--nproc={S(soft)}:{S(hard)}"]))!;
        prlimit.WaitForExit();
        Assert.Equal(0, prlimit.ExitCode);
    }
}
