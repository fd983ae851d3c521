using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Cloister.Sandbox.Runner;

namespace Cloister.Sandbox.Tests.Runner;

public sealed class FrameCodecTests
{
    [Fact]
    public async Task WrittenFrame_ReadsBack()
    {
        using var stream = new MemoryStream();
        await FrameCodec.WriteAsync(stream, """{"type":"ready"}"""u8.ToArray(), CancellationToken.None);
        stream.Position = 0;

        FrameReadResult frame = await FrameCodec.ReadAsync(stream, 1024, CancellationToken.None);

        Assert.Equal(FrameReadStatus.Ok, frame.Status);
        using JsonDocument document = frame.Document!;
        Assert.Equal("ready", document.RootElement.GetProperty("type").GetString());
        Assert.Equal(new byte[] { 0, 0, 0, 16 }, stream.ToArray()[..4]);
    }

    [Fact]
    public async Task FrameOfExactlyTheMaximum_IsAccepted_OneByteMore_IsNot()
    {
        string body = "{\"type\":\"x\",\"pad\":\"" + new string('a', 100) + "\"}";
        byte[] payload = Encoding.UTF8.GetBytes(body);

        Assert.Equal(FrameReadStatus.Ok, (await ReadOne(Frame(payload), payload.Length)).Status);
        Assert.Equal(FrameReadStatus.TooLarge, (await ReadOne(Frame(payload), payload.Length - 1)).Status);
    }

    [Fact]
    public async Task OversizeHeader_IsRefused_WithoutAllocatingThePayload()
    {
        byte[] header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, 1u << 30);
        using var stream = new MemoryStream(header);

        // MemoryStream completes synchronously, so every allocation of the read happens on this thread.
        long before = GC.GetAllocatedBytesForCurrentThread();
        FrameReadResult frame = await FrameCodec.ReadAsync(stream, RunnerSessionOptions.DefaultMaxFrameBytes, CancellationToken.None);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(FrameReadStatus.TooLarge, frame.Status);
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes");
    }

    [Theory]
    [InlineData(new byte[0], "Closed")]
    [InlineData(new byte[] { 0, 0 }, "Closed")]
    [InlineData(new byte[] { 0, 0, 0, 0 }, "Malformed")]
    [InlineData(new byte[] { 0, 0, 0, 5, (byte)'{' }, "Closed")]
    [InlineData(new byte[] { 0, 0, 0, 2, (byte)'{', (byte)'}' }, "Malformed")]
    [InlineData(new byte[] { 0, 0, 0, 4, (byte)'n', (byte)'u', (byte)'l', (byte)'l' }, "Malformed")]
    [InlineData(new byte[] { 0, 0, 0, 2, 0xff, 0xfe }, "Malformed")]
    [InlineData(new byte[] { 0xff, 0xff, 0xff, 0xff }, "TooLarge")]
    public async Task BadBytes_AreValues_NotExceptions(byte[] bytes, string expected)
    {
        FrameReadResult frame = await ReadOne(bytes, 1024);

        Assert.Equal(expected, frame.Status.ToString());
        Assert.Null(frame.Document);
    }

    // A Node handler returning a lone surrogate gets "\ud800" from JSON.stringify: valid JSON, no string. It is refused
    // here, so no later reading of the result (the output check, tokenizeOutput) can throw on it.
    [Theory]
    [InlineData("""{"type":"result","value":"ab\ud800cd"}""", "Malformed")]
    [InlineData("""{"type":"result","value":{"\udc00":1}}""", "Malformed")]
    [InlineData("""{"type":"result","value":["\ud83d\ude00","\\ud800"]}""", "Ok")]
    public async Task EscapedLoneSurrogates_AreMalformed_PairsAndEscapedBackslashesAreNot(string body, string expected)
    {
        var frame = await ReadOne(Frame(Encoding.UTF8.GetBytes(body)), 4096);

        Assert.Equal(expected, frame.Status.ToString());
        frame.Document?.Dispose();
    }

    [Fact]
    public async Task DeeplyNestedJson_IsMalformed()
    {
        string body = """{"type":"x","v":""" + new string('[', 200) + new string(']', 200) + "}";

        Assert.Equal(FrameReadStatus.Malformed, (await ReadOne(Frame(Encoding.UTF8.GetBytes(body)), 4096)).Status);
    }

    [Fact]
    public async Task MutatedRunnerOutput_NeverThrows_FromTheSession()
    {
        byte[] valid = Concat(
            Frame("""{"type":"ready"}"""u8.ToArray()),
            Frame("""{"type":"call","id":"x","call":1,"method":"reveal","params":{"token":"tok_1"}}"""u8.ToArray()),
            Frame("""{"type":"call","id":"x","call":2,"method":"tokenize","params":{"value":"v","format":"f"}}"""u8.ToArray()),
            Frame("""{"type":"error","id":"x","error":{"code":"c","message":"m"}}"""u8.ToArray()));
        var random = new Random(20261122);
        var host = new FakeHostCalls();
        host.Vault["tok_1"] = "value";
        using JsonDocument @event = JsonDocument.Parse("""{"a":1}""");
        var seen = new HashSet<string>(StringComparer.Ordinal);

        for (int i = 0; i < 3000; i++)
        {
            byte[] mutated = (byte[])valid.Clone();
            int flips = random.Next(1, 4);
            for (int f = 0; f < flips; f++)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            if (random.Next(4) == 0)
            {
                Array.Resize(ref mutated, random.Next(mutated.Length));
            }

            using var toRunner = new MemoryStream();
            using var fromRunner = new MemoryStream(mutated);
            var session = new RunnerSession(toRunner, fromRunner, new RunnerSessionOptions { MaxFrameBytes = 4096 });

            InvocationOutcome outcome = await session.InvokeAsync(@event.RootElement, host, CancellationToken.None);

            Assert.False(outcome.IsSuccess);
            seen.Add(outcome.Error!.Code);
        }

        Assert.Contains(InvocationErrorCodes.MalformedFrame, seen);
        Assert.Contains(InvocationErrorCodes.RunnerCrashed, seen);
        Assert.Contains(InvocationErrorCodes.FrameTooLarge, seen);
    }

    [Fact]
    public async Task ClosedStreams_AreRunnerCrashed_NotExceptions()
    {
        var toRunner = new MemoryStream();
        var fromRunner = new MemoryStream(Frame("""{"type":"ready"}"""u8.ToArray()));
        var session = new RunnerSession(toRunner, fromRunner);
        Assert.Null(await session.WaitForReadyAsync(CancellationToken.None));
        await toRunner.DisposeAsync();
        using JsonDocument @event = JsonDocument.Parse("{}");

        InvocationOutcome outcome = await session.InvokeAsync(@event.RootElement, new FakeHostCalls(), CancellationToken.None);

        Assert.Equal(InvocationErrorCodes.RunnerCrashed, outcome.Error?.Code);
    }

    [Fact]
    public void Options_WithUnusableLimits_AreRejected()
    {
        using var stream = new MemoryStream();

        Assert.Throws<ArgumentOutOfRangeException>(() => new RunnerSession(stream, stream, new RunnerSessionOptions { MaxFrameBytes = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RunnerSession(stream, stream, new RunnerSessionOptions { InvocationTimeout = TimeSpan.Zero }));
    }

    [Fact]
    public void Extract_WritesBothRunners_AndCanRunTwice()
    {
        using var dir = TempDirectory.Create("runner");
        string target = Path.Combine(dir.Path, "runner");

        Runners.Extract(target);
        Runners.Extract(target);

        Assert.Equal(
            new[] { Runners.NodeFileName, Runners.PythonFileName },
            Directory.GetFiles(target).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        Assert.Contains("def main():", File.ReadAllText(Path.Combine(target, Runners.PythonFileName)), StringComparison.Ordinal);
        Assert.Contains("module.exports", File.ReadAllText(Path.Combine(target, Runners.NodeFileName)), StringComparison.Ordinal);
    }

    private static async Task<FrameReadResult> ReadOne(byte[] bytes, int max)
    {
        using var stream = new MemoryStream(bytes);
        FrameReadResult frame = await FrameCodec.ReadAsync(stream, max, CancellationToken.None);
        frame.Document?.Dispose();
        return frame;
    }

    private static byte[] Frame(byte[] payload)
    {
        byte[] frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame, 4);
        return frame;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
