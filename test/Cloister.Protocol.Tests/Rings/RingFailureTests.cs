using Cloister.Protocol.Rings;

namespace Cloister.Protocol.Tests.Rings;

public sealed class RingFailureTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Cancellation_AbandonsOnlyThatRequest_AndItsLateResponseIsDiscarded()
    {
        var handler = new GatedHandler();
        await using var pair = RingPair.Start(handler);
        using var cancel = new CancellationTokenSource();

        var gated = pair.Transport.SendAsync(new byte[] { GatedHandler.Marker, 1 }, cancel.Token).AsTask();
        await handler.Entered.WaitAsync(Patience);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gated);
        Assert.Equal(XorHandler.Transform([7]), await pair.Transport.SendAsync(new byte[] { 7 }, CancellationToken.None));

        // The abandoned request's response now arrives and is dropped; later requests still match their own.
        handler.Open();
        for (int i = 0; i < 50; i++)
        {
            var request = Payloads.Random(10 + i, i);
            Assert.Equal(XorHandler.Transform(request), await pair.Transport.SendAsync(request, CancellationToken.None));
        }
    }

    [Fact]
    public async Task AlreadyCancelledToken_ThrowsWithoutSending()
    {
        await using var pair = RingPair.Start(new XorHandler());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pair.Transport.SendAsync(new byte[] { 1 }, new CancellationToken(true)).AsTask());
    }

    [Fact]
    public async Task Fail_FailsInFlightAndLaterSends()
    {
        var handler = new GatedHandler();
        await using var pair = RingPair.Start(handler);

        var inFlight = Enumerable.Range(0, 5).Select(i => pair.Transport.SendAsync(new byte[] { GatedHandler.Marker, (byte)i }, CancellationToken.None).AsTask()).ToArray();
        await handler.Entered.WaitAsync(Patience);
        pair.Transport.Fail("the worker exited (code 137)");

        foreach (var send in inFlight)
        {
            var error = await Assert.ThrowsAsync<TransportUnavailableException>(() => send.WaitAsync(Patience));
            Assert.Contains("code 137", error.Message, StringComparison.Ordinal);
        }

        await Assert.ThrowsAsync<TransportUnavailableException>(() => pair.Transport.SendAsync(new byte[] { 1 }, CancellationToken.None).AsTask());
        handler.Open();
    }

    [Fact]
    public async Task Fail_ReleasesASenderWaitingOnAFullRing()
    {
        using var release = new ManualResetEventSlim();
        using var entered = new ManualResetEventSlim();
        await using var pair = RingPair.Start(new BlockingHandler(entered, release), RingPair.Small with { MaxConcurrency = 1 });

        // A ping runs on the worker's reader thread; blocked there, it stops the reader like a hung worker would.
        var first = pair.Transport.SendAsync(new byte[] { GatedHandler.Marker }, FrameLane.Control, CancellationToken.None).AsTask();
        Assert.True(entered.Wait(Patience));
        // Nobody reads the ring, so this request, larger than the ring, can never be fully written.
        var blocked = Task.Run(() => pair.Transport.SendAsync(new byte[64 * 1024], CancellationToken.None).AsTask());
        while (pair.Transport.RequestRingFullWaits == 0)
        {
            await Task.Delay(10);
        }

        pair.Transport.Fail("test");

        await Assert.ThrowsAsync<TransportUnavailableException>(() => blocked.WaitAsync(Patience));
        await Assert.ThrowsAsync<TransportUnavailableException>(() => first.WaitAsync(Patience));
        release.Set();
    }

    /// <summary>Blocks its thread (no await) on a marked request until released.</summary>
    private sealed class BlockingHandler(ManualResetEventSlim entered, ManualResetEventSlim release) : IFrameHandler
    {
        public ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        {
            if (request.Span[0] == GatedHandler.Marker)
            {
                entered.Set();
                release.Wait(cancellationToken);
            }

            return ValueTask.FromResult(XorHandler.Transform(request.Span));
        }
    }

    [Fact]
    public async Task WorkerDisposed_RouterFailsPendingRequestsByItself()
    {
        var handler = new GatedHandler();
        var transport = RingFrameTransport.Create(RingPair.NewPath());
        await using (transport)
        {
            var server = RingFrameServer.Open(transport.Path);
            _ = server.RunAsync(handler, CancellationToken.None);

            var pending = transport.SendAsync(new byte[] { GatedHandler.Marker }, CancellationToken.None).AsTask();
            await handler.Entered.WaitAsync(Patience);
            await server.DisposeAsync();

            var error = await Assert.ThrowsAsync<TransportUnavailableException>(() => pending.WaitAsync(Patience));
            Assert.Contains("closed", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RouterDisposed_ServerStopsServing()
    {
        var transport = RingFrameTransport.Create(RingPair.NewPath());
        await using var server = RingFrameServer.Open(transport.Path);
        var serving = server.RunAsync(new XorHandler(), CancellationToken.None);
        await transport.SendAsync(new byte[] { 1 }, CancellationToken.None);

        await transport.DisposeAsync();

        await serving.WaitAsync(Patience);
        await Assert.ThrowsAsync<TransportUnavailableException>(() => transport.SendAsync(new byte[] { 1 }, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task HandlerThrows_ThatRequestFailsAsUnavailable_OthersContinue()
    {
        await using var pair = RingPair.Start(new ThrowingHandler());

        await Assert.ThrowsAsync<TransportUnavailableException>(() => pair.Transport.SendAsync(new byte[] { 0xFF }, CancellationToken.None).AsTask());
        Assert.Equal(XorHandler.Transform([1, 2]), await pair.Transport.SendAsync(new byte[] { 1, 2 }, CancellationToken.None));
    }

    [Fact]
    public async Task Open_RefusesAFileThatIsNotARing_AndASecondWorker()
    {
        string path = RingPair.NewPath();
        await File.WriteAllBytesAsync(path, new byte[8192]);
        try
        {
            Assert.Throws<InvalidDataException>(() => RingFrameServer.Open(path));
        }
        finally
        {
            File.Delete(path);
        }

        await using var pair = RingPair.Start(new XorHandler());
        Assert.Throws<InvalidOperationException>(() => RingFrameServer.Open(pair.Transport.Path));
    }

    [Fact]
    public async Task Open_RefusesATruncatedRingFile()
    {
        await using var transport = RingFrameTransport.Create(RingPair.NewPath(), RingPair.Small);
        string copy = transport.Path + ".copy";
        var bytes = await File.ReadAllBytesAsync(transport.Path);
        await File.WriteAllBytesAsync(copy, bytes.AsSpan(0, bytes.Length - 256).ToArray());
        try
        {
            Assert.Throws<InvalidDataException>(() => RingFrameServer.Open(copy));
        }
        finally
        {
            File.Delete(copy);
        }
    }

    private sealed class ThrowingHandler : IFrameHandler
    {
        public ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
            => request.Span[0] == 0xFF ? throw new InvalidOperationException("boom") : ValueTask.FromResult(XorHandler.Transform(request.Span));
    }
}
