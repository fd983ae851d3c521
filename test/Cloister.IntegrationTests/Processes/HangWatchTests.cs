using Cloister.Cli.Supervision;
using Cloister.Protocol;
using Cloister.Protocol.Rings;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// <see cref="HangWatch"/> over a real ring whose worker side serves at most 2 requests at once, so that pings queue
/// behind slow requests as they would behind 64 long invocations. The worker process is stood in for by a kill switch.
/// </summary>
public sealed class HangWatchTests
{
    // A ping waits 100 ms at most, less than it waits behind the queued 300 ms requests, so pings miss; a window of
    // 600 ms + 100 ms always sees one of those requests finish.
    private static readonly WorkerHealthOptions Fast = new(TimeSpan.FromMilliseconds(600), TimeSpan.FromMilliseconds(100), 2);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SaturatedWorker_ThatStillFinishesRequests_IsNotKilled()
    {
        await using var ring = await SlowWorkerRing.StartAsync(TimeSpan.FromMilliseconds(300));
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await ring.Transport.SendAsync(new byte[] { 1 }, CancellationToken.None);
            }
        })).ToArray();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watching = new CancellationTokenSource();
        var watch = HangWatch.RunAsync(new WatchedWorker(1, killed.Task, () => killed.TrySetResult()), ring.Transport, Fast, () => ring.Transport.ResponsesReceived, watching.Token);

        // Several hang windows while pings wait behind the slow requests.
        while (ring.PingsAnsweredLate < 5 && !killed.Task.IsCompleted)
        {
            await Task.Delay(50);
        }

        await stop.CancelAsync();
        await Task.WhenAll(load).WaitAsync(Patience);
        await watching.CancelAsync();
        await watch.WaitAsync(Patience);
        Assert.False(killed.Task.IsCompleted, "a saturated worker that kept answering was killed as hung.");
    }

    [Fact]
    public async Task SaturatedWorker_ThatAnswersNothing_IsKilled()
    {
        await using var ring = await SlowWorkerRing.StartAsync(Timeout.InfiniteTimeSpan);
        var stuck = Enumerable.Range(0, 3).Select(_ => ring.Transport.SendAsync(new byte[] { 1 }, CancellationToken.None).AsTask()).ToArray();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var watch = HangWatch.RunAsync(new WatchedWorker(1, killed.Task, () => killed.TrySetResult()), ring.Transport, Fast, () => ring.Transport.ResponsesReceived, CancellationToken.None);

        await killed.Task.WaitAsync(Patience);
        await watch.WaitAsync(Patience);
        ring.Transport.Fail("test over");
        await Assert.ThrowsAnyAsync<TransportUnavailableException>(() => Task.WhenAll(stuck).WaitAsync(Patience));
    }

    /// <summary>A ring served in this process by a handler that answers pings at once and sleeps on anything else.</summary>
    private sealed class SlowWorkerRing : IFrameHandler, IAsyncDisposable
    {
        private readonly TimeSpan _work;
        private readonly CancellationTokenSource _stop = new();
        private RingFrameServer? _server;
        private Task _serving = Task.CompletedTask;
        private long _requestsRunning;
        private int _pingsAnsweredLate;

        private SlowWorkerRing(TimeSpan work, RingFrameTransport transport)
        {
            _work = work;
            Transport = transport;
        }

        public RingFrameTransport Transport { get; }

        /// <summary>Pings answered while both slots were taken, i.e. after waiting behind a slow request.</summary>
        public int PingsAnsweredLate => Volatile.Read(ref _pingsAnsweredLate);

        public static Task<SlowWorkerRing> StartAsync(TimeSpan work)
        {
            var path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"cloister-hangwatch-test-{Guid.NewGuid():N}");
            var ring = new SlowWorkerRing(work, RingFrameTransport.Create(path, new RingOptions { MaxConcurrency = 2 }));
            ring._server = RingFrameServer.Open(path);
            ring._serving = ring._server.RunAsync(ring, ring._stop.Token);
            return Task.FromResult(ring);
        }

        public async ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        {
            if (EnclaveCodec.DecodeRequest(request.Span) is WorkerHealthRequest)
            {
                if (Interlocked.Read(ref _requestsRunning) > 0)
                {
                    Interlocked.Increment(ref _pingsAnsweredLate);
                }

                return EnclaveCodec.Encode(new WorkerHealthResponse(Attested: false));
            }

            Interlocked.Increment(ref _requestsRunning);
            try
            {
                await Task.Delay(_work, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _requestsRunning);
            }

            return [2];
        }

        public async ValueTask DisposeAsync()
        {
            Transport.Fail("test over");
            await _stop.CancelAsync();
            await _serving.WaitAsync(Patience);
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }

            await Transport.DisposeAsync();
            _stop.Dispose();
        }
    }
}
