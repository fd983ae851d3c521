using Cloister.Sandbox.Runner;

namespace Cloister.Sandbox.Tests.Runner;

public sealed class NodeRunnerTests
{
    [Fact]
    public async Task Handler_ReturnsResult()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Node(dir, """
            module.exports = async (event, ctx) => ({ sum: event.a + event.b });
            """);

        Assert.Null(await runner.Session.WaitForReadyAsync(CancellationToken.None));
        InvocationOutcome outcome = await runner.InvokeAsync("""{"a": 2, "b": 3}""");

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.Equal(5, outcome.Result.GetProperty("sum").GetInt32());
    }

    [Fact]
    public async Task Handler_CallsRevealTokenizeAndLog_IncludingConcurrentCalls()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Node(dir, """
            module.exports = async (event, ctx) => {
              const pan = await ctx.reveal(event.card.$token);
              await ctx.log('building request');
              const [a, b] = await Promise.all([ctx.tokenize(pan, 'pan'), ctx.tokenize('123', 'cvv')]);
              return { body: { last4: pan.slice(-4), card: a, cvv: b } };
            };
            """);
        var host = new FakeHostCalls();
        host.Vault["tok_pan_1"] = "5555444433331111";

        InvocationOutcome outcome = await runner.InvokeAsync("""{"card": {"$token": "tok_pan_1"}}""", host);

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.Equal("1111", outcome.Result.GetProperty("body").GetProperty("last4").GetString());
        Assert.Equal("tok_pan_1", outcome.Result.GetProperty("body").GetProperty("card").GetString());
        Assert.Equal("tok_cvv_2", outcome.Result.GetProperty("body").GetProperty("cvv").GetString());
        Assert.Equal(["building request"], host.Logs);
    }

    [Fact]
    public async Task ResultLargerThanTheMaximumFrame_IsReportedByTheRunner_AsFrameTooLarge()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Node(
            dir,
            """
            module.exports = async () => "y".repeat(10000);
            """,
            new RunnerSessionOptions { MaxFrameBytes = 4096 });

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal(InvocationErrorCodes.FrameTooLarge, outcome.Error?.Code);
        Assert.Contains("maximum frame size", outcome.Error!.Message, StringComparison.Ordinal);
        Assert.False(runner.Session.IsBroken);
    }

    [Fact]
    public async Task DeniedReveal_RejectsInsideHandler_WhichCanCatchIt()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Node(dir, """
            module.exports = async (event, ctx) => {
              try {
                await ctx.reveal('tok_ssn_1');
                return 'revealed';
              } catch (e) {
                return { name: e.name, code: e.code };
              }
            };
            """);
        var host = new FakeHostCalls();
        host.Denied.Add("tok_ssn_1");

        InvocationOutcome outcome = await runner.InvokeAsync("{}", host);

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.Equal("""{"name":"HostCallError","code":"permission-denied"}""", outcome.Result.GetRawText());
    }

    [Fact]
    public async Task HandlerThrows_IsHandlerError_AndRunnerStaysWarm()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Node(dir, """
            module.exports = async (event) => {
              if (event.fail) { throw new TypeError('amount is not a number'); }
              return 'ok';
            };
            """);

        InvocationOutcome failed = await runner.InvokeAsync("""{"fail": true}""");
        InvocationOutcome next = await runner.InvokeAsync("""{"fail": false}""");

        Assert.Equal(InvocationErrorCodes.HandlerError, failed.Error?.Code);
        Assert.Equal("TypeError: amount is not a number", failed.Error!.Message);
        Assert.True(next.IsSuccess, next.ToString());
        Assert.Equal("ok", next.Result.GetString());
    }

    [Fact]
    public async Task RunnerExitMidInvocation_IsRunnerCrashed()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Node(dir, """
            module.exports = async (event, ctx) => {
              await ctx.log('about to exit');
              process.exit(7);
            };
            """);
        var host = new FakeHostCalls();

        InvocationOutcome outcome = await runner.InvokeAsync("{}", host);

        Assert.Equal(InvocationErrorCodes.RunnerCrashed, outcome.Error?.Code);
        Assert.Equal(["about to exit"], host.Logs);
        Assert.True(runner.Session.IsBroken);
    }

    [Fact]
    public async Task WarmRunner_WipesScratchBetweenInvocations()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Node(dir, """
            const fs = require('fs');
            const path = require('path');
            const scratch = process.env.CLOISTER_SCRATCH_DIR;
            module.exports = async (event) => {
              const before = fs.readdirSync(scratch);
              if (event.write) {
                fs.writeFileSync(path.join(scratch, 'left-behind.txt'), 'from invocation 1');
                fs.mkdirSync(path.join(scratch, 'a', 'b'), { recursive: true });
              }
              return { pid: process.pid, before };
            };
            """);

        InvocationOutcome first = await runner.InvokeAsync("""{"write": true}""");
        InvocationOutcome second = await runner.InvokeAsync("""{"write": false}""");

        Assert.True(first.IsSuccess, first.ToString());
        Assert.True(second.IsSuccess, second.ToString());
        Assert.Equal(runner.ProcessId, second.Result.GetProperty("pid").GetInt32());
        Assert.Equal(first.Result.GetProperty("pid").GetInt32(), second.Result.GetProperty("pid").GetInt32());
        Assert.Equal(0, second.Result.GetProperty("before").GetArrayLength());
        Assert.Empty(Directory.GetFileSystemEntries(runner.Scratch));
    }

    [Fact]
    public async Task ConsoleLog_AndStdoutWrites_DoNotCorruptTheFrameChannel()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Node(dir, """
            console.log('loading handler');
            module.exports = async (event) => {
              console.log('hello from console.log', { nested: true });
              console.info('\u0000\u0000\u0000\u0005{}');
              process.stdout.write('direct write\n');
              return { ok: true };
            };
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");
        InvocationOutcome again = await runner.InvokeAsync("{}");

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.True(again.IsSuccess, again.ToString());
        await runner.DisposeAsync();
        Assert.Contains("hello from console.log", runner.Stderr, StringComparison.Ordinal);
        Assert.Contains("direct write", runner.Stderr, StringComparison.Ordinal);
        Assert.Contains("loading handler", runner.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModuleWithoutAFunctionExport_IsHandlerError()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Node(dir, """
            module.exports = { notAHandler: 1 };
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal(InvocationErrorCodes.HandlerError, outcome.Error?.Code);
        Assert.StartsWith("the function failed to load: TypeError", outcome.Error!.Message, StringComparison.Ordinal);
    }
}
