using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Runner;
using Cloister.Sandbox.Tests.Runner;
using static Cloister.Sandbox.Tests.Pool.PoolHarness;

namespace Cloister.Sandbox.Tests.Pool;

/// <summary>A warm sandbox's wall-clock and CPU limits count per invocation, not over its life.</summary>
public sealed class PerInvocationLimitsTests
{
    private static readonly FunctionKey Key = new("tenant-a", "fn@limits");

    /// <summary>
    /// Burns the asked CPU seconds (or sleeps for a minute), then answers with its pid and the asked padding.
    /// It reads the clock only every 20,000 iterations: under gVisor every clock read is a syscall served by the
    /// sandbox kernel, whose CPU counts against the limit too, so a clock-polling loop costs several times its own time.
    /// </summary>
    private const string PythonBurner = """
        import os, time
        def handle(event, ctx):
            if event.get("mode") == "sleep":
                time.sleep(60)
            end = time.process_time() + event.get("cpu", 0)
            while time.process_time() < end:
                for _ in range(20000):
                    pass
            return {"pid": os.getpid(), "pad": "x" * event.get("pad", 0)}
        """;

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task WarmSandbox_ServesInvocationsWhoseCpuAddsUpToMoreThanTheLimit(string backend)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var definition = Define(fixture, cpuSeconds: 2, wall: TimeSpan.FromSeconds(20));

        var pids = new HashSet<int>();
        for (var i = 0; i < 5; i++)
        {
            await using var lease = await pool.LeaseAsync(definition, CancellationToken.None);
            var outcome = await lease.InvokeAsync(Json("""{"cpu": 1.2}"""), new FakeHostCalls(), CancellationToken.None);

            Assert.True(outcome.IsSuccess, $"invocation {i}: {outcome}");
            Assert.Equal(i > 0, lease.WasWarm);
            pids.Add(outcome.Result.GetProperty("pid").GetInt32());
        }

        // Six CPU seconds in one sandbox with a limit of two: only per-invocation accounting lets this through.
        Assert.Single(pids);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task WarmSandbox_ServesInvocationsWhoseOutputAddsUpToMoreThanTheLimit(string backend)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var definition = Define(fixture, cpuSeconds: 5, wall: TimeSpan.FromSeconds(20));
        definition = definition with { Limits = definition.Limits with { OutputBytes = 64 * 1024 } };

        for (var i = 0; i < 5; i++)
        {
            await using var lease = await pool.LeaseAsync(definition, CancellationToken.None);
            var outcome = await lease.InvokeAsync(Json("""{"pad": 40000}"""), new FakeHostCalls(), CancellationToken.None);

            Assert.True(outcome.IsSuccess, $"invocation {i}: {outcome}");
            Assert.Equal(i > 0, lease.WasWarm);
        }
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task WarmSandbox_OutlivesItsWallTimeoutBetweenInvocations(string backend)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var definition = Define(fixture, cpuSeconds: 5, wall: TimeSpan.FromSeconds(1));

        SandboxedFunction first;
        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            first = lease.Sandbox;
            Assert.True((await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None)).IsSuccess);
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            var outcome = await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None);

            Assert.True(outcome.IsSuccess, outcome.ToString());
            Assert.True(lease.WasWarm);
            Assert.Same(first, lease.Sandbox);
        }
    }

    [Theory]
    [InlineData("runsc", "cpu")]
    [InlineData("bwrap", "cpu")]
    [InlineData("runsc", "wall")]
    [InlineData("bwrap", "wall")]
    public async Task InvocationOverItsLimit_Fails_AndTheNextLeaseIsAFreshSandbox(string backend, string limit)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var definition = Define(fixture, cpuSeconds: 1, wall: limit == "cpu" ? TimeSpan.FromSeconds(20) : TimeSpan.FromSeconds(3));
        var expected = limit == "cpu" ? SandboxErrorCodes.CpuLimit : InvocationErrorCodes.Timeout;

        SandboxedFunction broken;
        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            broken = lease.Sandbox;
            var warmUp = await lease.InvokeAsync(Json("""{"cpu": 0.1}"""), new FakeHostCalls(), CancellationToken.None);
            Assert.True(warmUp.IsSuccess, warmUp.ToString());
            var outcome = await lease.InvokeAsync(Json(limit == "cpu" ? """{"cpu": 100}""" : """{"mode": "sleep"}"""), new FakeHostCalls(), CancellationToken.None);

            Assert.Equal(expected, outcome.Error?.Code);
            Assert.False(broken.IsReusable);
        }

        Assert.Equal(0, pool.IdleCount(Key));
        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            var next = await lease.InvokeAsync(Json("""{"cpu": 0.1}"""), new FakeHostCalls(), CancellationToken.None);

            Assert.False(lease.WasWarm);
            Assert.NotSame(broken, lease.Sandbox);
            Assert.True(next.IsSuccess, next.ToString());
        }
    }

    /// <summary>The runner protocol's own timeout is set long, so only the sandbox limits under test can end an invocation.</summary>
    private static FunctionSandboxDefinition Define(FunctionFixture fixture, int cpuSeconds, TimeSpan wall) =>
        fixture.Define(Key, FunctionRuntimes.Python3, "handler.py", PythonBurner) with
        {
            Limits = new SandboxLimits { WallTimeout = wall, CpuSeconds = cpuSeconds, MemoryMiB = 128 },
            SessionOptions = new RunnerSessionOptions { InvocationTimeout = TimeSpan.FromSeconds(30), ReadyTimeout = TimeSpan.FromSeconds(15) },
        };
}
