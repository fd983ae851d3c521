using System.Text;

namespace Cloister.Protocol.Tests.Rings;

/// <summary>Lanes, oversized messages and what the shared memory file keeps (docs/design/rings.md).</summary>
public sealed class RingLaneTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task InvocationFramesHoldingEveryInvocationSlot_DoNotDelayRequestFramesOrPings()
    {
        var handler = new GatedHandler();
        await using var pair = RingPair.Start(handler, RingPair.Small with { MaxConcurrency = 2, MaxInvocations = 2 });

        // Four long invocation frames: two run (and wait), two wait on the router's side for an invocation slot.
        var invocations = Enumerable.Range(0, 4)
            .Select(i => pair.Transport.SendAsync(new byte[] { GatedHandler.Marker, (byte)i }, FrameLane.Invocation, CancellationToken.None).AsTask())
            .ToArray();
        await handler.Entered.WaitAsync(Patience);

        for (int i = 0; i < 20; i++)
        {
            var request = Payloads.Random(300, i);
            Assert.Equal(XorHandler.Transform(request), await pair.Transport.SendAsync(request, CancellationToken.None).AsTask().WaitAsync(Patience));
        }

        Assert.Equal(XorHandler.Transform([9]), await pair.Transport.SendAsync(new byte[] { 9 }, FrameLane.Control, CancellationToken.None).AsTask().WaitAsync(Patience));
        Assert.All(invocations, invocation => Assert.False(invocation.IsCompleted));

        handler.Open();
        await Task.WhenAll(invocations).WaitAsync(Patience);
    }

    [Fact]
    public async Task RequestFramesHoldingEveryRequestSlot_DoNotDelayAPing()
    {
        var handler = new GatedHandler();
        await using var pair = RingPair.Start(handler, RingPair.Small with { MaxConcurrency = 1 });

        var held = pair.Transport.SendAsync(new byte[] { GatedHandler.Marker }, CancellationToken.None).AsTask();
        await handler.Entered.WaitAsync(Patience);
        var waiting = Enumerable.Range(0, 8).Select(i => pair.Transport.SendAsync(new byte[] { GatedHandler.Marker, (byte)i }, CancellationToken.None).AsTask()).ToArray();

        var ping = await pair.Transport.SendAsync(new byte[] { 42 }, FrameLane.Control, CancellationToken.None).AsTask().WaitAsync(Patience);

        Assert.Equal(XorHandler.Transform([42]), ping);
        Assert.False(held.IsCompleted);
        handler.Open();
        await Task.WhenAll([held, .. waiting]).WaitAsync(Patience);
    }

    [Fact]
    public async Task ALargeFrameAloneInTheRing_IsHandledOffTheReader_SoAPingBehindItIsAnswered()
    {
        using var release = new ManualResetEventSlim();
        await using var pair = RingPair.Start(new BlockOnLargeHandler(release));

        // Alone in the ring, a small frame would run on the reader thread; a large one (its decoding alone takes a while)
        // must not: this handler blocks its thread on it, as a slow synchronous decode would.
        var large = pair.Transport.SendAsync(new byte[200 * 1024], CancellationToken.None).AsTask();
        await Task.Delay(200);

        var ping = await pair.Transport.SendAsync(new byte[] { 7 }, FrameLane.Control, CancellationToken.None).AsTask().WaitAsync(Patience);

        Assert.Equal(XorHandler.Transform([7]), ping);
        Assert.False(large.IsCompleted);
        release.Set();
        await large.WaitAsync(Patience);
    }

    [Fact]
    public async Task AResponseOverTheLimit_FailsOnlyItsRequest_AndTheRingKeepsServing()
    {
        var options = RingPair.Small with { MaxMessageBytes = 4096 };
        await using var pair = RingPair.Start(new EchoTimesHandler(), options);

        // The handler answers 8 bytes per request byte: 1,000 bytes in, 8,000 out, over the 4,096-byte limit.
        var error = await Assert.ThrowsAsync<FrameTooLargeException>(() => pair.Transport.SendAsync(new byte[1000], CancellationToken.None).AsTask().WaitAsync(Patience));
        Assert.Equal(4096, error.Limit);

        Assert.False(pair.Transport.Failed.IsCompleted);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(8 * 100, (await pair.Transport.SendAsync(new byte[100], CancellationToken.None)).Length);
        }
    }

    [Fact]
    public async Task ARequestOverTheLimit_FailsBeforeItIsSent()
    {
        await using var pair = RingPair.Start(new XorHandler(), RingPair.Small with { MaxMessageBytes = 4096 });

        await Assert.ThrowsAsync<FrameTooLargeException>(() => pair.Transport.SendAsync(new byte[4097], CancellationToken.None).AsTask());

        Assert.Equal(XorHandler.Transform([1, 2]), await pair.Transport.SendAsync(new byte[] { 1, 2 }, CancellationToken.None));
    }

    [Fact]
    public async Task ConsumedMessages_AreWipedFromTheSharedMemoryFile()
    {
        await using var pair = RingPair.Start(new XorHandler(), RingPair.Small);
        var canary = Encoding.ASCII.GetBytes("CANARY-4111111111111111-");

        // Single-slot, multi-slot and larger-than-the-ring messages, in both directions (the answer is the canary XOR 0xA5,
        // so the response ring is searched for that).
        foreach (var repeat in new[] { 1, 20, 400 })
        {
            var request = Enumerable.Repeat(canary, repeat).SelectMany(b => b).ToArray();
            await pair.Transport.SendAsync(request, CancellationToken.None);
        }

        var file = await File.ReadAllBytesAsync(pair.Transport.Path);
        Assert.Equal(-1, file.AsSpan().IndexOf(canary));
        Assert.Equal(-1, file.AsSpan().IndexOf(XorHandler.Transform(canary)));
    }

    /// <summary>Blocks its thread (no await) on a request of 64 KiB or more until released; answers small ones at once.</summary>
    private sealed class BlockOnLargeHandler(ManualResetEventSlim release) : IFrameHandler
    {
        public ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        {
            if (request.Length >= 64 * 1024)
            {
                release.Wait(cancellationToken);
            }

            return ValueTask.FromResult(XorHandler.Transform(request.Span[..Math.Min(request.Length, 16)]));
        }
    }

    /// <summary>Answers with eight copies of the request.</summary>
    private sealed class EchoTimesHandler : IFrameHandler
    {
        public ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
            => ValueTask.FromResult(Enumerable.Repeat(request.ToArray(), 8).SelectMany(b => b).ToArray());
    }
}
