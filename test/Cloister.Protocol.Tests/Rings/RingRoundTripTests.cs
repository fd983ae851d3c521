using Cloister.Protocol.Rings;

namespace Cloister.Protocol.Tests.Rings;

public sealed class RingRoundTripTests
{
    // Small rings: 256-byte slots (240 payload bytes in a message's first slot), 16 slots = 4 KiB per ring.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(239)] // first slot minus one
    [InlineData(240)] // exactly the first slot
    [InlineData(241)] // one byte into a continuation slot
    [InlineData(255)] // slot - 1
    [InlineData(256)] // slot
    [InlineData(257)] // slot + 1
    [InlineData(4096 - 16)] // the whole ring exactly
    [InlineData(4096)] // larger than the ring: streamed through
    [InlineData(64 * 1024)]
    [InlineData(1024 * 1024 + 7)]
    public async Task RoundTrip_SmallRing_ReturnsTransformedPayload(int length)
    {
        await using var pair = RingPair.Start(new XorHandler(), RingPair.Small);
        var request = Payloads.Random(length, length);

        var response = await pair.Transport.SendAsync(request, CancellationToken.None);

        Assert.Equal(XorHandler.Transform(request), response);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(64 * 1024)]
    [InlineData(4 * 1024 * 1024)] // 4 MiB: four times the default 1 MiB ring
    public async Task RoundTrip_DefaultRing_ReturnsTransformedPayload(int length)
    {
        await using var pair = RingPair.Start(new XorHandler());
        var request = Payloads.Random(length, length);

        var response = await pair.Transport.SendAsync(request, CancellationToken.None);

        Assert.Equal(XorHandler.Transform(request), response);
    }

    [Fact]
    public async Task ManySequentialMessages_WrapTheRingManyTimes()
    {
        await using var pair = RingPair.Start(new XorHandler(), RingPair.Small);
        for (int i = 0; i < 2000; i++)
        {
            var request = Payloads.Random(i % 700, i);
            Assert.Equal(XorHandler.Transform(request), await pair.Transport.SendAsync(request, CancellationToken.None));
        }
    }

    [Fact]
    public async Task ConcurrentCallers_EachGetsItsOwnResponse()
    {
        await using var pair = RingPair.Start(new XorHandler(), RingPair.Small);

        var callers = Enumerable.Range(0, 16).Select(caller => Task.Run(async () =>
        {
            for (int i = 0; i < 300; i++)
            {
                var request = Payloads.Random((caller * 97 + i * 31) % 1500, caller * 1000 + i);
                var response = await pair.Transport.SendAsync(request, CancellationToken.None);
                Assert.Equal(XorHandler.Transform(request), response);
            }
        }));

        await Task.WhenAll(callers);
    }

    [Fact]
    public async Task SlowHandler_SendersBeyondTheLaneWaitOnTheRouterSide_AndEveryRequestCompletes()
    {
        var handler = new SlowHandler();
        await using var pair = RingPair.Start(handler, RingPair.Small with { MaxConcurrency = 2 });

        // 40 requests of 3 slots each against a 16-slot ring and 2 handlers at a time: 38 wait for a slot on the router's
        // side, so the ring itself never fills (the worker never stops reading, and a ping would still get through).
        var requests = Enumerable.Range(0, 40).Select(i => Payloads.Random(600, i)).ToArray();
        var responses = await Task.WhenAll(requests.Select(r => pair.Transport.SendAsync(r, CancellationToken.None).AsTask()));

        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(XorHandler.Transform(requests[i]), responses[i]);
        }

        Assert.Equal(0, pair.Transport.RequestRingFullWaits);
        Assert.True(handler.MaxConcurrent <= 2, $"{handler.MaxConcurrent} handlers ran at once");
    }

    [Fact]
    public async Task IdleConsumers_SleepOnTheFutex_AndAreWokenByTheNextMessage()
    {
        // Sleeps of 20 s: a lost wake-up would stall the round trip until the timeout.
        await using var pair = RingPair.Start(new XorHandler(), new RingOptions { SpinMicroseconds = 10, SleepMilliseconds = 20_000 });
        await pair.Transport.SendAsync(new byte[] { 1 }, CancellationToken.None);

        // Both readers spin 10 µs after a message, then sleep on the futex.
        await Task.Delay(200);
        long routerSleeps = pair.Transport.ResponseReaderSleeps;
        long workerSleeps = pair.Server.RequestReaderSleeps;
        Assert.True(workerSleeps > 0, "the worker's reader never slept");
        Assert.True(routerSleeps > 0, "the router's reader never slept");

        var started = System.Diagnostics.Stopwatch.StartNew();
        var response = await pair.Transport.SendAsync(new byte[] { 2, 3 }, CancellationToken.None);

        Assert.Equal(XorHandler.Transform([2, 3]), response);
        // Woken by FUTEX_WAKE, not by the 20 s timeout (a bound for correctness, not speed).
        Assert.True(started.ElapsedMilliseconds < 10_000, $"the round trip took {started.ElapsedMilliseconds} ms: the wake-up was lost");
    }

    [Fact]
    public async Task Create_MakesAnOwnerOnlyFile_AndDisposeDeletesIt()
    {
        var pair = RingPair.Start(new XorHandler());
        string path = pair.Transport.Path;

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        await pair.DisposeAsync();
        Assert.False(File.Exists(path));
    }

    private sealed class SlowHandler : IFrameHandler
    {
        private int _running;

        public int MaxConcurrent { get; private set; }

        public async ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        {
            int running = Interlocked.Increment(ref _running);
            lock (this)
            {
                MaxConcurrent = Math.Max(MaxConcurrent, running);
            }

            var response = XorHandler.Transform(request.Span);
            await Task.Delay(5, cancellationToken);
            Interlocked.Decrement(ref _running);
            return response;
        }
    }
}
