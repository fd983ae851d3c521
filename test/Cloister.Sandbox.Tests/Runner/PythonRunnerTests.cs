using System.Text.Json;
using Cloister.Sandbox.Runner;

namespace Cloister.Sandbox.Tests.Runner;

public sealed class PythonRunnerTests
{
    [Fact]
    public async Task Handler_ReturnsResult()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            def handle(event, ctx):
                return {"sum": event["a"] + event["b"], "id": ctx.invocation_id is not None}
            """);

        Assert.Null(await runner.Session.WaitForReadyAsync(CancellationToken.None));
        Assert.True(runner.Session.IsReady);
        InvocationOutcome outcome = await runner.InvokeAsync("""{"a": 2, "b": 3}""");

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.Equal(5, outcome.Result.GetProperty("sum").GetInt32());
        Assert.True(outcome.Result.GetProperty("id").GetBoolean());
    }

    [Fact]
    public async Task Handler_CallsRevealTokenizeAndLog()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            def handle(event, ctx):
                pan = ctx.reveal(event["card"]["$token"])
                ctx.log("scoring a card")
                token = ctx.tokenize(pan[-4:] + "-x", "alias")
                return {"risk": 0.25 if pan.startswith("4") else 0.75, "last4": pan[-4:], "ref": token}
            """);
        var host = new FakeHostCalls();
        host.Vault["tok_pan_1"] = "4111111111111111";

        InvocationOutcome outcome = await runner.InvokeAsync("""{"card": {"$token": "tok_pan_1"}}""", host);

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.Equal(0.25, outcome.Result.GetProperty("risk").GetDouble());
        Assert.Equal("1111", outcome.Result.GetProperty("last4").GetString());
        Assert.Equal("tok_alias_1", outcome.Result.GetProperty("ref").GetString());
        Assert.Equal(["scoring a card"], host.Logs);
        Assert.Equal([("1111-x", "alias")], host.Tokenized);
    }

    [Fact]
    public async Task DeniedReveal_RaisesInsideHandler_WhichCanCatchIt()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            def handle(event, ctx):
                caught = []
                for token in event["tokens"]:
                    try:
                        ctx.reveal(token)
                    except Exception as e:
                        caught.append({"type": type(e).__name__, "code": e.code})
                return caught
            """);
        var host = new FakeHostCalls();
        host.Denied.Add("tok_ssn_1");

        InvocationOutcome outcome = await runner.InvokeAsync("""{"tokens": ["tok_ssn_1", "tok_missing"]}""", host);

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.Equal(
            """[{"type":"HostCallError","code":"permission-denied"},{"type":"HostCallError","code":"not-found"}]""",
            outcome.Result.GetRawText());
    }

    [Fact]
    public async Task UncaughtDeniedReveal_IsHandlerError()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            def handle(event, ctx):
                return ctx.reveal("tok_ssn_1")
            """);
        var host = new FakeHostCalls();
        host.Denied.Add("tok_ssn_1");

        InvocationOutcome outcome = await runner.InvokeAsync("{}", host);

        Assert.Equal(InvocationErrorCodes.HandlerError, outcome.Error?.Code);
        Assert.Contains("permission-denied", outcome.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HandlerException_IsHandlerError_WithTypeAndMessage_AndRunnerStaysWarm()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            def handle(event, ctx):
                if event.get("fail"):
                    raise ValueError("amount must be positive")
                return "ok"
            """);

        InvocationOutcome failed = await runner.InvokeAsync("""{"fail": true}""");
        InvocationOutcome next = await runner.InvokeAsync("""{"fail": false}""");

        Assert.Equal(InvocationErrorCodes.HandlerError, failed.Error?.Code);
        Assert.Equal("ValueError: amount must be positive", failed.Error!.Message);
        Assert.Throws<InvalidOperationException>(() => failed.Result);
        Assert.True(next.IsSuccess, next.ToString());
        Assert.Equal("ok", next.Result.GetString());
        Assert.False(runner.Session.IsBroken);
    }

    [Fact]
    public async Task HandlerErrorMessage_NeverContainsRevealedValues()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            def handle(event, ctx):
                pan = ctx.reveal("tok_pan_1")
                raise ValueError("bad card " + pan)
            """);
        var host = new FakeHostCalls();
        host.Vault["tok_pan_1"] = "4111111111111111";

        InvocationOutcome outcome = await runner.InvokeAsync("{}", host);

        Assert.Equal(InvocationErrorCodes.HandlerError, outcome.Error?.Code);
        Assert.DoesNotContain("4111111111111111", outcome.Error!.Message, StringComparison.Ordinal);
        Assert.Equal("ValueError: bad card [redacted]", outcome.Error.Message);
    }

    [Fact]
    public async Task ResultThatIsNotJson_IsHandlerError()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            def handle(event, ctx):
                return {"when": object()}
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal(InvocationErrorCodes.HandlerError, outcome.Error?.Code);
        Assert.Contains("not JSON-serializable", outcome.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunnerCrashMidInvocation_IsRunnerCrashed_AndSessionIsBroken()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            import os
            def handle(event, ctx):
                ctx.log("about to die")
                os._exit(3)
            """);
        var host = new FakeHostCalls();

        InvocationOutcome outcome = await runner.InvokeAsync("{}", host);
        InvocationOutcome after = await runner.InvokeAsync("{}", host);

        Assert.Equal(InvocationErrorCodes.RunnerCrashed, outcome.Error?.Code);
        Assert.Equal(["about to die"], host.Logs);
        Assert.True(runner.Session.IsBroken);
        Assert.Equal(InvocationErrorCodes.RunnerCrashed, after.Error?.Code);
    }

    [Fact]
    public async Task ModuleThatFailsToLoad_IsHandlerError_BeforeAnyInvocation()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            def handle(event, ctx)
                return 1
            """);

        InvocationError? error = await runner.Session.WaitForReadyAsync(CancellationToken.None);
        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal(InvocationErrorCodes.HandlerError, error?.Code);
        Assert.StartsWith("the function failed to load: SyntaxError", error!.Message, StringComparison.Ordinal);
        Assert.Equal(InvocationErrorCodes.HandlerError, outcome.Error?.Code);
        Assert.True(runner.Session.IsBroken);
    }

    [Fact]
    public async Task WarmRunner_ServesSuccessiveInvocations_AndWipesScratchBetweenThem()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            import os
            SCRATCH = os.environ["CLOISTER_SCRATCH_DIR"]
            def handle(event, ctx):
                before = sorted(os.listdir(SCRATCH))
                if event["write"]:
                    with open(os.path.join(SCRATCH, "left-behind.txt"), "w") as f:
                        f.write("secret from invocation 1")
                    os.makedirs(os.path.join(SCRATCH, "sub", "deeper"))
                    os.symlink("/etc", os.path.join(SCRATCH, "link"))
                    os.chdir(os.path.join(SCRATCH, "sub"))
                return {"pid": os.getpid(), "before": before, "cwd": os.getcwd()}
            """);

        InvocationOutcome first = await runner.InvokeAsync("""{"write": true}""");
        InvocationOutcome second = await runner.InvokeAsync("""{"write": false}""");

        Assert.True(first.IsSuccess, first.ToString());
        Assert.True(second.IsSuccess, second.ToString());
        Assert.Equal(runner.ProcessId, first.Result.GetProperty("pid").GetInt32());
        Assert.Equal(runner.ProcessId, second.Result.GetProperty("pid").GetInt32());
        Assert.Equal(0, second.Result.GetProperty("before").GetArrayLength());
        Assert.Equal(dir.Path, second.Result.GetProperty("cwd").GetString());
        Assert.True(Directory.Exists("/etc"));
    }

    [Fact]
    public async Task Print_AndWritesToFd1_DoNotCorruptTheFrameChannel()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            import os, subprocess, sys
            print("loaded handler")
            def handle(event, ctx):
                print("hello from print", "\x00\x00\x00\x05{}")
                sys.stdout.write("direct write\n")
                sys.stdout.flush()
                os.write(1, b"\x00\x00\x00\x02hi")
                subprocess.run(["/bin/echo", "from a child process"], check=True)
                input_value = input() if False else None
                return {"ok": True}
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");
        InvocationOutcome again = await runner.InvokeAsync("{}");

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.True(again.IsSuccess, again.ToString());
        await runner.DisposeAsync();
        Assert.Contains("hello from print", runner.Stderr, StringComparison.Ordinal);
        Assert.Contains("from a child process", runner.Stderr, StringComparison.Ordinal);
        Assert.Contains("loaded handler", runner.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HandlerPastTheTimeout_IsTimeout()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(
            dir,
            """
            import time
            def handle(event, ctx):
                time.sleep(30)
            """,
            new RunnerSessionOptions { InvocationTimeout = TimeSpan.FromMilliseconds(300) });

        Assert.Null(await runner.Session.WaitForReadyAsync(CancellationToken.None));
        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal(InvocationErrorCodes.Timeout, outcome.Error?.Code);
        Assert.True(runner.Session.IsBroken);
        runner.Kill();
    }

    [Fact]
    public async Task EventLargerThanTheMaximumFrame_IsFrameTooLarge_AndRunnerStaysUsable()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(
            dir,
            """
            def handle(event, ctx):
                return len(event["blob"])
            """,
            new RunnerSessionOptions { MaxFrameBytes = 4096 });

        InvocationOutcome tooBig = await runner.InvokeAsync(JsonSerializer.Serialize(new { blob = new string('x', 5000) }));
        InvocationOutcome fits = await runner.InvokeAsync(JsonSerializer.Serialize(new { blob = new string('x', 100) }));

        Assert.True(tooBig.Error?.Code == InvocationErrorCodes.FrameTooLarge, tooBig.ToString());
        Assert.True(fits.IsSuccess, fits.ToString());
        Assert.Equal(100, fits.Result.GetInt32());
    }

    [Fact]
    public async Task ResultLargerThanTheMaximumFrame_IsReportedByTheRunner_AsFrameTooLarge()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(
            dir,
            """
            def handle(event, ctx):
                return "y" * 10000
            """,
            new RunnerSessionOptions { MaxFrameBytes = 4096 });

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal(InvocationErrorCodes.FrameTooLarge, outcome.Error?.Code);
        Assert.Contains("maximum frame size", outcome.Error!.Message, StringComparison.Ordinal);
        Assert.False(runner.Session.IsBroken);
    }

    [Fact]
    public async Task CallerCancellation_Throws_AndBreaksTheSession()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            import time
            def handle(event, ctx):
                time.sleep(30)
            """);
        Assert.Null(await runner.Session.WaitForReadyAsync(CancellationToken.None));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        using var document = JsonDocument.Parse("{}");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.Session.InvokeAsync(document.RootElement, new FakeHostCalls(), cancel.Token));

        Assert.True(runner.Session.IsBroken);
        runner.Kill();
    }

    [Fact]
    public async Task HandlerErrorMessage_NeverContainsTokenizedValues()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            def handle(event, ctx):
                ctx.tokenize("378282246310005", "pan")
                raise RuntimeError("could not use 378282246310005")
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal("RuntimeError: could not use [redacted]", outcome.Error?.Message);
    }

    [Fact]
    public async Task HostCallsThatThrow_SurfaceAsABugInTheHost_NotAsARunnerCrash()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Python(dir, """
            def handle(event, ctx):
                ctx.log("x")
            """);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => runner.InvokeAsync("{}", new ThrowingHostCalls()));

        Assert.IsType<IOException>(ex.InnerException);
        Assert.True(runner.Session.IsBroken);
    }

    private sealed class ThrowingHostCalls : IHostCalls
    {
        public ValueTask<HostCallResult> RevealAsync(string token, CancellationToken cancellationToken) => throw new IOException("store down");

        public ValueTask<HostCallResult> TokenizeAsync(string value, string format, CancellationToken cancellationToken) => throw new IOException("store down");

        public ValueTask<HostCallResult> LogAsync(string message, CancellationToken cancellationToken) => throw new IOException("store down");
    }
}
