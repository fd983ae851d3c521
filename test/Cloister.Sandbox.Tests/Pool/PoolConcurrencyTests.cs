using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Tests.Runner;
using static Cloister.Sandbox.Tests.Pool.PoolHarness;

namespace Cloister.Sandbox.Tests.Pool;

/// <summary>A function's own maximum concurrency (its manifest's <c>limits.concurrency</c>) sizes its slots in the pool.</summary>
public sealed class PoolConcurrencyTests
{
    private static readonly FunctionKey Key = new("tenant-a", "fn@concurrency");

    [Theory]
    [InlineData("runsc", 1, 4, 1)]
    [InlineData("bwrap", 1, 4, 1)]
    [InlineData("bwrap", 10, 2, 2)]
    [InlineData("bwrap", null, 2, 2)]
    public async Task Lease_BeyondTheFunctionsMaxConcurrency_WaitsForAReturn(string backend, int? concurrency, int poolMax, int expected)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend, new SandboxPoolOptions { MaxPerFunction = poolMax });
        var definition = fixture.Define(Key, FunctionRuntimes.Python3, "handler.py", PythonHostile) with { MaxConcurrency = concurrency };
        Assert.Equal(expected, pool.MaxSandboxes(definition));

        var leases = new List<SandboxLease>();
        for (var i = 0; i < expected; i++)
        {
            leases.Add(await pool.LeaseAsync(definition, CancellationToken.None));
        }

        using (var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pool.LeaseAsync(definition, wait.Token));
        }

        var waiting = pool.LeaseAsync(definition, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        await leases[0].DisposeAsync();
        await using (var next = await waiting)
        {
            Assert.True((await next.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None)).IsSuccess);
        }

        foreach (var lease in leases.Skip(1))
        {
            await lease.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(FunctionSandboxDefinition.MaxConcurrencyLimit + 1)]
    public void Definition_WithAnUnusableMaxConcurrency_IsRejected(int concurrency)
    {
        using var fixture = new FunctionFixture();
        var definition = fixture.Define(Key, FunctionRuntimes.Python3, "handler.py", PythonHostile) with { MaxConcurrency = concurrency };

        var error = Assert.Throws<ArgumentException>(definition.Validate);
        Assert.Equal(nameof(FunctionSandboxDefinition.MaxConcurrency), error.ParamName);
    }
}
