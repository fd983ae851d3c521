using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Runner;
using Cloister.Sandbox.Tests.Runner;
using static Cloister.Sandbox.Tests.Pool.PoolHarness;

namespace Cloister.Sandbox.Tests.Pool;

public sealed class SandboxPoolTests
{
    private static readonly FunctionKey KeyA = new("tenant-a", "fn@v1");
    private static readonly FunctionKey KeyB = new("tenant-b", "fn@v1");

    [Theory]
    [InlineData("runsc", FunctionRuntimes.Python3)]
    [InlineData("bwrap", FunctionRuntimes.Python3)]
    [InlineData("runsc", FunctionRuntimes.Node)]
    [InlineData("bwrap", FunctionRuntimes.Node)]
    public async Task SecondLease_IsTheSameWarmSandbox_WithTmpWipedBetweenInvocations_AndOneColdStartCounted(string backend, string runtime)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var definition = runtime == FunctionRuntimes.Node
            ? fixture.Define(KeyA, runtime, "handler.js", NodeTmpProbe)
            : fixture.Define(KeyA, runtime, "handler.py", PythonTmpProbe);

        SandboxedFunction first;
        InvocationOutcome one;
        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            Assert.False(lease.WasWarm);
            Assert.Equal(new SandboxPoolCounts(Idle: 0, Leased: 1, ColdStarts: 1), pool.Counts());
            first = lease.Sandbox;
            one = await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None);
        }

        Assert.Equal(1, pool.IdleCount(KeyA));
        Assert.Equal(new SandboxPoolCounts(Idle: 1, Leased: 0, ColdStarts: 1), pool.Counts());
        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            var two = await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None);

            Assert.True(lease.WasWarm);
            Assert.Equal(new SandboxPoolCounts(Idle: 0, Leased: 1, ColdStarts: 1), pool.Counts());
            Assert.Same(first, lease.Sandbox);
            Assert.True(one.IsSuccess, one.ToString());
            Assert.True(two.IsSuccess, two.ToString());
            Assert.Equal(one.Result.GetProperty("pid").GetInt32(), two.Result.GetProperty("pid").GetInt32());
            Assert.False(one.Result.GetProperty("existed").GetBoolean());
            Assert.False(two.Result.GetProperty("existed").GetBoolean());
        }
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task InfiniteLoop_TimesOut_AndTheNextLeaseIsAFreshSandbox(string backend)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var definition = fixture.Define(KeyA, FunctionRuntimes.Python3, "handler.py", PythonHostile);

        SandboxedFunction looped;
        InvocationOutcome outcome;
        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            looped = lease.Sandbox;
            outcome = await lease.InvokeAsync(Json("""{"mode": "loop"}"""), new FakeHostCalls(), CancellationToken.None);
        }

        Assert.Equal(InvocationErrorCodes.Timeout, outcome.Error?.Code);
        Assert.Equal(0, pool.IdleCount(KeyA));
        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            var next = await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None);

            Assert.False(lease.WasWarm);
            Assert.NotSame(looped, lease.Sandbox);
            Assert.True(next.IsSuccess, next.ToString());
        }
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task LeaseForAnotherTenant_NeverGetsTheFirstTenantsSandbox(string backend)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var forA = fixture.Define(KeyA, FunctionRuntimes.Python3, "handler.py", PythonTmpProbe);
        var forB = fixture.Define(KeyB, FunctionRuntimes.Python3, "handler.py", PythonTmpProbe);

        SandboxedFunction sandboxOfA;
        await using (var lease = await pool.LeaseAsync(forA, CancellationToken.None))
        {
            sandboxOfA = lease.Sandbox;
            Assert.True((await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None)).IsSuccess);
        }

        await using (var lease = await pool.LeaseAsync(forB, CancellationToken.None))
        {
            var outcome = await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None);

            Assert.False(lease.WasWarm);
            Assert.NotSame(sandboxOfA, lease.Sandbox);
            Assert.Equal(KeyB, lease.Sandbox.Key);
            Assert.False(outcome.Result.GetProperty("existed").GetBoolean());
        }

        Assert.Equal(1, pool.IdleCount(KeyA));
        Assert.Equal(1, pool.IdleCount(KeyB));
        await using (var lease = await pool.LeaseAsync(forA, CancellationToken.None))
        {
            Assert.True(lease.WasWarm);
            Assert.Same(sandboxOfA, lease.Sandbox);
        }
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task PerInvocationIsolation_NeverReusesASandbox(string backend)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var definition = fixture.Define(KeyA, FunctionRuntimes.Python3, "handler.py", PythonTmpProbe, FunctionIsolation.PerInvocation);

        var seen = new List<SandboxedFunction>();
        for (int i = 0; i < 2; i++)
        {
            await using var lease = await pool.LeaseAsync(definition, CancellationToken.None);
            var outcome = await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None);

            Assert.False(lease.WasWarm);
            Assert.True(outcome.IsSuccess, outcome.ToString());
            Assert.False(outcome.Result.GetProperty("existed").GetBoolean());
            seen.Add(lease.Sandbox);
        }

        Assert.NotSame(seen[0], seen[1]);
        Assert.Equal(0, pool.IdleCount(KeyA));
        Assert.False(seen[0].IsReusable);
    }
}
