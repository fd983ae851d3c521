using System.Diagnostics;
using Cloister.Sandbox.Backends;
using static Cloister.Sandbox.Tests.Backends.SandboxHarness;

namespace Cloister.Sandbox.Tests.Backends;

/// <summary>Hostile programs are contained with a clear reason, on both backends.</summary>
public sealed class HostileSandboxTests
{
    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItInterruptsAnInfiniteLoopAtTheCpuLimit(string backend)
    {
        var limits = new SandboxLimits { CpuSeconds = 1, WallTimeout = TimeSpan.FromSeconds(15) };
        var clock = Stopwatch.StartNew();

        var (exit, _, _) = await RunAsync(backend, PythonSpec("while True: pass", limits));

        Assert.True(exit.Reason == SandboxExitReason.CpuLimit, $"expected CpuLimit, got {exit}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItKillsASleeperAtTheWallTimeout(string backend)
    {
        var limits = new SandboxLimits { WallTimeout = TimeSpan.FromSeconds(1) };
        var clock = Stopwatch.StartNew();

        var (exit, _, _) = await RunAsync(backend, PythonSpec("import time; time.sleep(60)", limits));

        Assert.True(exit.Reason == SandboxExitReason.WallTimeout, $"expected WallTimeout, got {exit}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("runsc", "x = b'x' * (4 * 1024 ** 3); print('ALLOCATED', len(x))")]
    [InlineData("bwrap", "x = b'x' * (4 * 1024 ** 3); print('ALLOCATED', len(x))")]
    [InlineData("runsc", "a = []\nwhile True: a.append(bytearray(1024 * 1024))")]
    [InlineData("bwrap", "a = []\nwhile True: a.append(bytearray(1024 * 1024))")]
    public async Task ItStopsAMemoryBombAtTheMemoryLimit(string backend, string script)
    {
        var limits = new SandboxLimits { MemoryMiB = 128, WallTimeout = TimeSpan.FromSeconds(20) };

        var (exit, output, _) = await RunAsync(backend, PythonSpec(script, limits));

        Assert.DoesNotContain("ALLOCATED", output, StringComparison.Ordinal);
        Assert.True(exit.Reason == SandboxExitReason.MemoryLimit, $"expected MemoryLimit, got {exit}");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItCapsTheNumberOfProcesses(string backend)
    {
        const string script = """
            import os, time
            n = 0
            for i in range(200):
                try:
                    if os.fork() == 0:
                        time.sleep(3); os._exit(0)
                    n += 1
                except OSError:
                    break
            print(n)
            """;
        var limits = new SandboxLimits { Pids = 16, WallTimeout = TimeSpan.FromSeconds(20) };

        var (exit, output, _) = await RunAsync(backend, PythonSpec(script, limits));

        Assert.True(int.TryParse(output.Trim(), out var forked), $"{exit} {output}");
        Assert.True(forked < 16, $"forked {forked} children with a limit of 16");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItContainsAShellForkBomb(string backend)
    {
        var limits = new SandboxLimits { Pids = 32, CpuSeconds = 2, WallTimeout = TimeSpan.FromSeconds(3) };
        var spec = new SandboxSpec("/bin/sh") { Arguments = ["-c", "bomb() { bomb | bomb & }; bomb; sleep 30"], Limits = limits };
        var clock = Stopwatch.StartNew();

        var (exit, _, _) = await RunAsync(backend, spec);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.True(exit.Reason is SandboxExitReason.PidsLimit or SandboxExitReason.WallTimeout or SandboxExitReason.CpuLimit or SandboxExitReason.MemoryLimit, $"{exit}");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItStopsAGigabyteWrittenToStdoutAtTheOutputCap(string backend)
    {
        const string script = """
            import sys
            chunk = b'x' * 65536
            for i in range(16384): sys.stdout.buffer.write(chunk)
            print('FINISHED', file=sys.stderr)
            """;
        var limits = new SandboxLimits { OutputBytes = 1024 * 1024, WallTimeout = TimeSpan.FromSeconds(20) };
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var (exit, _, total) = await RunAsync(backend, PythonSpec(script, limits));

        Assert.True(exit.Reason == SandboxExitReason.OutputLimit, $"expected OutputLimit, got {exit}");
        Assert.Equal(1024 * 1024, total);
        Assert.DoesNotContain("FINISHED", exit.StderrTail, StringComparison.Ordinal);
        Assert.True(GC.GetTotalMemory(forceFullCollection: true) - before < 32 * 1024 * 1024, "host memory grew with the sandbox's output");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItStopsAFloodOnStderrAtTheOutputCap(string backend)
    {
        const string script = "import sys\nwhile True: sys.stderr.write('e' * 65536)";
        var limits = new SandboxLimits { OutputBytes = 1024 * 1024, WallTimeout = TimeSpan.FromSeconds(20) };

        var (exit, _, _) = await RunAsync(backend, PythonSpec(script, limits));

        Assert.True(exit.Reason == SandboxExitReason.OutputLimit, $"expected OutputLimit, got {exit}");
        Assert.True(exit.StderrTail.Length <= 4096);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItCountsStdoutAndStderrAgainstOneOutputCap(string backend)
    {
        const string script = """
            import sys, time
            sys.stderr.write('e' * 700 * 1024); sys.stderr.flush()
            time.sleep(0.5)
            sys.stdout.buffer.write(b'o' * 700 * 1024); sys.stdout.flush()
            """;
        var limits = new SandboxLimits { OutputBytes = 1024 * 1024, WallTimeout = TimeSpan.FromSeconds(20) };

        var (exit, _, total) = await RunAsync(backend, PythonSpec(script, limits));

        Assert.True(exit.Reason == SandboxExitReason.OutputLimit, $"expected OutputLimit, got {exit}");
        Assert.True(total <= (1024 * 1024) - (700 * 1024), $"read {total} bytes of stdout after 700 KiB of stderr");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItKillsASandboxOnRequest(string backend)
    {
        await using var process = await Backend(backend).StartAsync(PythonSpec("import time; time.sleep(60)"), CancellationToken.None);

        process.Kill();
        var exit = await process.WaitAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(exit.Reason == SandboxExitReason.Killed, $"expected Killed, got {exit}");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItKeepsServingWhileHostileSandboxesRun(string backend)
    {
        // Generous limits: under a loaded CI machine the normal sandbox may take seconds, and the loop must outlive it (disposal ends all three).
        var hostile = new SandboxLimits { Pids = 32, CpuSeconds = 60, WallTimeout = TimeSpan.FromSeconds(60) };
        await using var loop = await Backend(backend).StartAsync(PythonSpec("while True: pass", hostile), CancellationToken.None);
        await using var bomb = await Backend(backend).StartAsync(
            new SandboxSpec("/bin/sh") { Arguments = ["-c", "bomb() { bomb | bomb & }; bomb; sleep 30"], Limits = hostile }, CancellationToken.None);
        await using var hog = await Backend(backend).StartAsync(PythonSpec("a = []\nwhile True: a.append(bytearray(1024 * 1024))", hostile), CancellationToken.None);
        await Task.Delay(500);

        var (exit, output, _) = await RunAsync(backend, PythonSpec("print(6 * 7)"));

        Assert.True(exit.Reason == SandboxExitReason.Exited, $"expected Exited, got {exit}");
        Assert.Equal("42", output.Trim());
        var loopEnded = loop.WaitAsync().IsCompleted ? await loop.WaitAsync() : null;

        Assert.True(loopEnded is null, $"the infinite loop should still be running while the normal sandbox completed: {loopEnded}");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItKeepsASandboxRunningAfterTheThreadThatStartedItExits(string backend)
    {
        // bwrap's --die-with-parent is PR_SET_PDEATHSIG, which fires when the forking *thread* exits: a sandbox forked
        // from a thread-pool thread was SIGKILLed whenever that thread retired. Start one from a thread that waits until
        // the program answers (so bwrap is past setting it up) and then ends.
        ISandboxProcess? started = null;
        StreamReader? output = null;
        var starter = new Thread(() =>
        {
            started = Backend(backend).StartAsync(
                PythonSpec("import sys\nfor line in sys.stdin: print(line.strip(), flush=True)"), CancellationToken.None).GetAwaiter().GetResult();
            output = new StreamReader(started.Output);
            started.Input.Write("up\n"u8);
            started.Input.Flush();
            Assert.Equal("up", output.ReadLine());
        });
        starter.Start();
        starter.Join();
        await using var process = started!;
        await Task.Delay(200);

        await process.Input.WriteAsync("still here\n"u8.ToArray());
        await process.Input.FlushAsync();
        var line = await output!.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15));

        Assert.True(line == "still here", $"the sandbox died with its starting thread: {(process.WaitAsync().IsCompleted ? await process.WaitAsync() : null)}");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItReportsACrashOfTheProgram(string backend)
    {
        var (exit, _, _) = await RunAsync(backend, PythonSpec("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"));

        Assert.True(exit.Reason == SandboxExitReason.Crashed, $"expected Crashed, got {exit}");
    }
}
