using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Tests.Runner;
using static Cloister.Sandbox.Tests.Pool.PoolHarness;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Sandbox.Tests.Pool;

public sealed class SandboxPoolLifecycleTests
{
    private static readonly FunctionKey Key = new("tenant-a", "fn@v2");

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task IdleSandbox_IsDisposedAfterIdleTimeout_ButNotBefore(string backend)
    {
        using var fixture = new FunctionFixture();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var pool = StartPool(backend, new SandboxPoolOptions { IdleTimeout = TimeSpan.FromMinutes(1) }, clock);
        var definition = fixture.Define(Key, FunctionRuntimes.Python3, "handler.py", PythonHostile);
        SandboxedFunction sandbox;
        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            sandbox = lease.Sandbox;
            Assert.True((await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None)).IsSuccess);
        }

        // AdjustTime moves the clock without firing the pool's sweep timer: the test sweeps by itself.
        clock.AdjustTime(clock.GetUtcNow() + TimeSpan.FromSeconds(59));
        Assert.Equal(0, await pool.EvictIdleAsync());
        Assert.True(sandbox.IsReusable);

        clock.AdjustTime(clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await pool.EvictIdleAsync());

        Assert.Equal(0, pool.IdleCount(Key));
        Assert.False(sandbox.IsReusable);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => sandbox.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None));
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task Prestart_KeepsTheMinimumWarm_LeasesBeyondTheMaximumWait_AndRetireDisposesIdle(string backend)
    {
        using var fixture = new FunctionFixture();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var pool = StartPool(backend, new SandboxPoolOptions { MinPerFunction = 1, MaxPerFunction = 1, IdleTimeout = TimeSpan.FromMinutes(1) }, clock);
        var definition = fixture.Define(Key, FunctionRuntimes.Python3, "handler.py", PythonHostile);

        await pool.PrestartAsync(definition, CancellationToken.None);
        Assert.Equal(1, pool.IdleCount(Key));

        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            Assert.True(lease.WasWarm);
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pool.LeaseAsync(definition, cancel.Token));
            Assert.True((await lease.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None)).IsSuccess);
        }

        var waiting = pool.LeaseAsync(definition, CancellationToken.None);
        await using (var lease = await waiting)
        {
            Assert.True(lease.WasWarm);
        }

        // Idle past the timeout, but the minimum is kept.
        clock.AdjustTime(clock.GetUtcNow() + TimeSpan.FromMinutes(5));
        Assert.Equal(0, await pool.EvictIdleAsync());
        Assert.Equal(1, pool.IdleCount(Key));

        // A deleted function's warm sandboxes go at once.
        await pool.RetireAsync(Key);
        Assert.Equal(0, pool.IdleCount(Key));
    }
}
