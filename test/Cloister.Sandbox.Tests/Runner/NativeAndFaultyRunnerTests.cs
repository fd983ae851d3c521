using Cloister.Sandbox.Runner;

namespace Cloister.Sandbox.Tests.Runner;

/// <summary>
/// Runners that speak the frames themselves: a well-behaved "native" function written only from
/// docs/runner-protocol.md, and faulty ones that inject failures the host must survive.
/// </summary>
public sealed class NativeAndFaultyRunnerTests
{
    /// <summary>Frame helpers any native function needs: exactly what the document describes.</summary>
    private const string Frames = """
        import json, os, struct, sys, time
        stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

        def read_exact(n):
            data = b""
            while len(data) < n:
                chunk = stdin.read(n - len(data))
                if not chunk:
                    return None
                data += chunk
            return data

        def read_frame():
            header = read_exact(4)
            if header is None:
                return None
            return json.loads(read_exact(struct.unpack(">I", header)[0]))

        def write_raw(data):
            stdout.write(data)
            stdout.flush()

        def write_frame(obj):
            payload = json.dumps(obj).encode("utf-8")
            write_raw(struct.pack(">I", len(payload)) + payload)

        """;

    [Fact]
    public async Task NativeFunction_SpeakingTheDocumentedProtocol_Works()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(dir, Frames + """
            write_frame({"type": "ready"})
            while True:
                invoke = read_frame()
                if invoke is None:
                    break
                write_frame({"type": "call", "id": invoke["id"], "call": 1, "method": "reveal", "params": {"token": invoke["event"]["token"]}})
                reply = read_frame()
                assert reply["type"] == "reply" and reply["call"] == 1
                write_frame({"type": "call", "id": invoke["id"], "call": 2, "method": "reveal", "params": {"token": "tok_other"}})
                denied = read_frame()
                write_frame({"type": "result", "id": invoke["id"], "result": {"length": len(reply["result"]), "denied": denied["error"]["code"]}})
            """);
        var host = new FakeHostCalls();
        host.Vault["tok_1"] = "secret-value";
        host.Denied.Add("tok_other");

        InvocationOutcome first = await runner.InvokeAsync("""{"token": "tok_1"}""", host);
        InvocationOutcome second = await runner.InvokeAsync("""{"token": "tok_1"}""", host);

        Assert.True(first.IsSuccess, first.ToString());
        Assert.Equal("""{"length":12,"denied":"permission-denied"}""", System.Text.Json.JsonSerializer.Serialize(first.Result));
        Assert.True(second.IsSuccess, second.ToString());
    }

    [Fact]
    public async Task NativeExampleInTheProtocolDocument_Works()
    {
        string doc = File.ReadAllText(FindRepoFile("docs/runner-protocol.md"));
        int section = doc.IndexOf("## A native function, minimally", StringComparison.Ordinal);
        int start = doc.IndexOf("```python\n", section, StringComparison.Ordinal) + "```python\n".Length;
        int end = doc.IndexOf("```", start, StringComparison.Ordinal);
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(dir, doc[start..end]);
        var host = new FakeHostCalls();
        host.Vault["tok_1"] = "secret-value";

        InvocationOutcome found = await runner.InvokeAsync("""{"token": "tok_1"}""", host);
        InvocationOutcome missing = await runner.InvokeAsync("""{"token": "tok_2"}""", host);

        Assert.True(found.IsSuccess, found.ToString());
        Assert.Equal(12, found.Result.GetProperty("length").GetInt32());
        Assert.Equal(InvocationErrorCodes.HandlerError, missing.Error?.Code);
        Assert.Equal("no such token", missing.Error!.Message);
    }

    [Fact]
    public async Task NativeFunction_ErrorFrame_IsHandlerError()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(dir, Frames + """
            write_frame({"type": "ready"})
            invoke = read_frame()
            write_frame({"type": "error", "id": invoke["id"], "error": {"code": "whatever-native-says", "message": "card declined"}})
            read_frame()
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal(InvocationErrorCodes.HandlerError, outcome.Error?.Code);
        Assert.Equal("card declined", outcome.Error!.Message);
    }

    [Theory]
    [InlineData("this is not json")]
    [InlineData("[1, 2, 3]")]
    [InlineData("{\"no_type\": 1}")]
    [InlineData("{\"type\": 42}")]
    [InlineData("\u00ff\u00fe")]
    public async Task GarbageInAFrame_IsMalformedFrame(string payload)
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(dir, Frames + $$"""
            write_frame({"type": "ready"})
            read_frame()
            garbage = {{ToPythonBytes(payload)}}
            write_raw(struct.pack(">I", len(garbage)) + garbage)
            time.sleep(30)
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal(InvocationErrorCodes.MalformedFrame, outcome.Error?.Code);
        Assert.DoesNotContain(payload, outcome.Error!.Message, StringComparison.Ordinal);
        Assert.True(runner.Session.IsBroken);
        runner.Kill();
    }

    [Fact]
    public async Task EmptyFrame_IsMalformedFrame()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(dir, """
            import sys, time
            sys.stdout.buffer.write(b"\x00\x00\x00\x00")
            sys.stdout.buffer.flush()
            time.sleep(30)
            """);

        InvocationError? error = await runner.Session.WaitForReadyAsync(CancellationToken.None);

        Assert.Equal(InvocationErrorCodes.MalformedFrame, error?.Code);
        runner.Kill();
    }

    [Fact]
    public async Task OversizeFrameHeader_IsFrameTooLarge_WithoutWaitingForThePayload()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(
            dir,
            Frames + """
            write_frame({"type": "ready"})
            read_frame()
            write_raw(struct.pack(">I", 0x7FFFFFFF) + b"{")
            time.sleep(30)
            """,
            new RunnerSessionOptions { InvocationTimeout = TimeSpan.FromSeconds(20) });

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        // The payload is never sent: only a decision from the header can answer before the 20 s timeout.
        Assert.Equal(InvocationErrorCodes.FrameTooLarge, outcome.Error?.Code);
        Assert.True(runner.Session.IsBroken);
        runner.Kill();
    }

    [Fact]
    public async Task PlainTextOnStdout_IsRejected_NotTrusted()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(dir, """
            import time
            print("hello world, I am not a frame", flush=True)
            time.sleep(30)
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        // "hell" read as a big-endian length is ~1.7 GB: refused from the header alone.
        Assert.Equal(InvocationErrorCodes.FrameTooLarge, outcome.Error?.Code);
        runner.Kill();
    }

    [Fact]
    public async Task RunnerExitingWhileTheHostAnswersACall_IsRunnerCrashed()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(dir, Frames + """
            write_frame({"type": "ready"})
            invoke = read_frame()
            write_frame({"type": "call", "id": invoke["id"], "call": 1, "method": "log", "params": {"message": "bye"}})
            os._exit(9)
            """);
        var host = new FakeHostCalls { Delay = TimeSpan.FromMilliseconds(200) };

        InvocationOutcome outcome = await runner.InvokeAsync("{}", host);

        Assert.Equal(InvocationErrorCodes.RunnerCrashed, outcome.Error?.Code);
    }

    [Fact]
    public async Task RunnerExitingInsideAFrame_IsRunnerCrashed()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(dir, Frames + """
            write_frame({"type": "ready"})
            read_frame()
            write_raw(struct.pack(">I", 100) + b'{"type": "res')
            os._exit(1)
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal(InvocationErrorCodes.RunnerCrashed, outcome.Error?.Code);
    }

    [Theory]
    [InlineData("""{"type": "result", "id": "someone-else", "result": 1}""")]
    [InlineData("""{"type": "result", "id": "$ID"}""")]
    [InlineData("""{"type": "ready"}""")]
    [InlineData("""{"type": "reply", "call": 1, "result": 1}""")]
    [InlineData("""{"type": "call", "id": "$ID", "call": "one", "method": "log", "params": {}}""")]
    public async Task UnexpectedFrame_IsProtocolViolation(string frame)
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(dir, Frames + $$"""
            write_frame({"type": "ready"})
            invoke = read_frame()
            payload = {{ToPythonBytes(frame)}}.replace(b"$ID", invoke["id"].encode())
            write_raw(struct.pack(">I", len(payload)) + payload)
            read_frame()
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.Equal(InvocationErrorCodes.ProtocolViolation, outcome.Error?.Code);
        Assert.True(runner.Session.IsBroken);
    }

    [Fact]
    public async Task UnknownMethodAndBadParams_AreAnsweredWithReplyErrors()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(dir, Frames + """
            write_frame({"type": "ready"})
            invoke = read_frame()
            codes = []
            for n, (method, params) in enumerate([("launch", {}), ("reveal", {"token": 5}), ("tokenize", {"value": "x"})], 1):
                write_frame({"type": "call", "id": invoke["id"], "call": n, "method": method, "params": params})
                codes.append(read_frame()["error"]["code"])
            write_frame({"type": "result", "id": invoke["id"], "result": codes})
            read_frame()
            """);

        InvocationOutcome outcome = await runner.InvokeAsync("{}");

        Assert.True(outcome.IsSuccess, outcome.ToString());
        Assert.Equal("""["unknown-method","invalid-params","invalid-params"]""", System.Text.Json.JsonSerializer.Serialize(outcome.Result));
    }

    [Fact]
    public async Task SilentRunner_IsTimeout_WhenNeverReady()
    {
        using var dir = TempDirectory.Create("runner");
        await using var runner = RunnerHarness.Script(
            dir,
            """
            import time
            time.sleep(30)
            """,
            new RunnerSessionOptions { ReadyTimeout = TimeSpan.FromMilliseconds(300) });

        InvocationError? error = await runner.Session.WaitForReadyAsync(CancellationToken.None);

        Assert.Equal(InvocationErrorCodes.Timeout, error?.Code);
        runner.Kill();
    }

    private static string FindRepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(relative);
    }

    private static string ToPythonBytes(string text)
    {
        var builder = new System.Text.StringBuilder("b\"");
        foreach (byte b in text.Length > 0 && text[0] == '\u00ff' ? [0xff, 0xfe] : System.Text.Encoding.UTF8.GetBytes(text))
        {
            builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{b:x2}");
        }

        return builder.Append('"').ToString();
    }
}
