using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Runner;
using Cloister.Sandbox.Tests.Runner;
using static Cloister.Sandbox.Tests.Pool.PoolHarness;

namespace Cloister.Sandbox.Tests.Pool;

public sealed class SandboxedFunctionTests
{
    private static readonly FunctionKey Key = new("tenant-a", "fn-1@v1");

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task Python_HandlerRevealsTokenThroughHostCall_InsideSandbox(string backend)
    {
        using var fixture = new FunctionFixture();
        var hostCalls = new FakeHostCalls();
        hostCalls.Vault["tok_card"] = "4111111111111111";
        await using var function = new SandboxedFunction(Backends.SandboxHarness.Backend(backend), fixture.Define(Key, FunctionRuntimes.Python3, "handler.py", PythonReveal));

        Assert.Null(await function.StartAsync(CancellationToken.None));
        var outcome = await function.InvokeAsync(Json("""{"card": "tok_card"}"""), hostCalls, CancellationToken.None);

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.Equal("1111", outcome.Result.GetProperty("card").GetString());
        Assert.NotEqual(0, outcome.Result.GetProperty("uid").GetInt32());
        Assert.Equal(["revealing"], hostCalls.Logs);
        Assert.True(function.IsReusable);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task Node_HandlerRevealsTokenThroughHostCall_InsideSandbox(string backend)
    {
        using var fixture = new FunctionFixture();
        var hostCalls = new FakeHostCalls();
        hostCalls.Vault["tok_card"] = "5500000000000004";
        await using var function = new SandboxedFunction(Backends.SandboxHarness.Backend(backend), fixture.Define(Key, FunctionRuntimes.Node, "handler.js", NodeReveal));

        var outcome = await function.InvokeAsync(Json("""{"card": "tok_card"}"""), hostCalls, CancellationToken.None);

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.Equal("0004", outcome.Result.GetProperty("card").GetString());
        Assert.True(outcome.Result.GetProperty("node").GetBoolean());
        Assert.Equal(["revealing"], hostCalls.Logs);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task MemoryBomb_FailsWithMemoryLimit_AndSandboxIsNotReusable(string backend)
    {
        using var fixture = new FunctionFixture();
        var definition = fixture.Define(Key, FunctionRuntimes.Python3, "handler.py", PythonHostile) with
        {
            Limits = new SandboxLimits { WallTimeout = TimeSpan.FromSeconds(60), CpuSeconds = 30, MemoryMiB = 128 },
            SessionOptions = new RunnerSessionOptions { InvocationTimeout = TimeSpan.FromSeconds(15) },
        };
        await using var function = new SandboxedFunction(Backends.SandboxHarness.Backend(backend), definition);

        var outcome = await function.InvokeAsync(Json("""{"mode": "memory"}"""), new FakeHostCalls(), CancellationToken.None);

        Assert.False(outcome.IsSuccess);
        Assert.True(outcome.Error!.Code is SandboxErrorCodes.MemoryLimit or InvocationErrorCodes.RunnerCrashed, outcome.ToString());
        Assert.False(function.IsReusable);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task RunnerExitingMidCall_FailsWithRunnerCrashed_AndLaterInvocationsFailTheSame(string backend)
    {
        using var fixture = new FunctionFixture();
        var hostCalls = new FakeHostCalls();
        await using var function = new SandboxedFunction(Backends.SandboxHarness.Backend(backend), fixture.Define(Key, FunctionRuntimes.Python3, "handler.py", PythonHostile));

        var outcome = await function.InvokeAsync(Json("""{"mode": "crash"}"""), hostCalls, CancellationToken.None);
        var after = await function.InvokeAsync(Json("{}"), hostCalls, CancellationToken.None);

        Assert.Equal(InvocationErrorCodes.RunnerCrashed, outcome.Error?.Code);
        Assert.Equal(["about to die"], hostCalls.Logs);
        Assert.False(function.IsReusable);
        Assert.Equal(InvocationErrorCodes.RunnerCrashed, after.Error?.Code);
    }
}
