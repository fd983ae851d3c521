using Cloister.Router.Supervision;
using Cloister.Protocol;
using Cloister.Protocol.Rings;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// <see cref="HangWatch"/> over a real ring whose worker side serves at most 2 requests at once. Pings travel in the
/// control lane: they never wait behind requests, so a worker whose every slot is taken by slow work still answers them
/// and is left alone, while one whose frame reader is stuck answers nothing and is killed. The worker process is stood
/// in for by a kill switch.
/// </summary>
public sealed class HangWatchTests
{
    // A ping waits 100 ms at most; 2 misses in a row kill.
    private static readonly WorkerHealthOptions Fast = new(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(100), 2);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SaturatedWorker_AnswersPingsWhileEverySlotIsTaken_AndIsNotKilled()
    {
        await using var ring = await SlowWorkerRing.StartAsync(hangReader: false);
        var stuck = Enumerable.Range(0, 6).Select(_ => ring.Transport.SendAsync(new byte[] { 1 }, CancellationToken.None).AsTask()).ToArray();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watching = new CancellationTokenSource();
        var watch = HangWatch.RunAsync(new WatchedWorker(1, killed.Task, () => killed.TrySetResult()), ring.Transport, Fast, () => ring.Transport.ResponsesReceived, watching.Token);

        // Many hang windows pass while both slots hold requests that never finish (and four more wait for a slot).
        while (ring.PingsAnsweredWhileBusy < 10 && !killed.Task.IsCompleted)
        {
            await Task.Delay(50);
        }

        await watching.CancelAsync();
        await watch.WaitAsync(Patience);
        Assert.False(killed.Task.IsCompleted, "a saturated worker that answered its pings was killed as hung.");
        Assert.Equal(0, ring.Transport.ResponsesReceived - ring.PingsAnswered);
        Assert.All(stuck, request => Assert.False(request.IsCompleted));
    }

    [Fact]
    public async Task WorkerWhoseFrameReaderIsStuck_IsKilled()
    {
        await using var ring = await SlowWorkerRing.StartAsync(hangReader: true);
        var stuck = ring.Transport.SendAsync(new byte[] { 1 }, CancellationToken.None).AsTask();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var watch = HangWatch.RunAsync(new WatchedWorker(1, killed.Task, () => killed.TrySetResult()), ring.Transport, Fast, () => ring.Transport.ResponsesReceived, CancellationToken.None);

        await killed.Task.WaitAsync(Patience);
        await watch.WaitAsync(Patience);
        ring.Transport.Fail("test over");
        await Assert.ThrowsAnyAsync<TransportUnavailableException>(() => stuck.WaitAsync(Patience));
    }

    /// <summary>
    /// A ring served in this process by a handler that answers pings at once and never finishes anything else: it
    /// awaits for ever, or with <c>hangReader</c> blocks the thread it runs on (the frame reader, for a lone request).
    /// </summary>
    private sealed class SlowWorkerRing : IFrameHandler, IAsyncDisposable
    {
        private readonly bool _hangReader;
        private readonly CancellationTokenSource _stop = new();
        private readonly ManualResetEventSlim _release = new();
        private RingFrameServer? _server;
        private Task _serving = Task.CompletedTask;
        private long _requestsRunning;
        private int _pingsAnsweredWhileBusy;
        private int _pingsAnswered;

        private SlowWorkerRing(bool hangReader, RingFrameTransport transport)
        {
            _hangReader = hangReader;
            Transport = transport;
        }

        public RingFrameTransport Transport { get; }

        /// <summary>Pings answered while requests held the worker's slots.</summary>
        public int PingsAnsweredWhileBusy => Volatile.Read(ref _pingsAnsweredWhileBusy);

        public int PingsAnswered => Volatile.Read(ref _pingsAnswered);

        public static Task<SlowWorkerRing> StartAsync(bool hangReader)
        {
            var path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"cloister-{ProcessIdentity.Current}-test{Guid.NewGuid():N}.ring");
            var ring = new SlowWorkerRing(hangReader, RingFrameTransport.Create(path, new RingOptions { MaxConcurrency = 2 }));
            ring._server = RingFrameServer.Open(path);
            ring._serving = ring._server.RunAsync(ring, ring._stop.Token);
            return Task.FromResult(ring);
        }

        public async ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        {
            if (Frames.Enclave.DecodeRequest(request.Span) is WorkerHealthRequest)
            {
                if (Interlocked.Read(ref _requestsRunning) >= 2)
                {
                    Interlocked.Increment(ref _pingsAnsweredWhileBusy);
                }

                Interlocked.Increment(ref _pingsAnswered);
                return Frames.Enclave.Encode(new WorkerHealthResponse(Attested: false));
            }

            Interlocked.Increment(ref _requestsRunning);
            if (_hangReader)
            {
                _release.Wait(CancellationToken.None);
            }
            else
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }

            return [2];
        }

        public async ValueTask DisposeAsync()
        {
            Transport.Fail("test over");
            _release.Set();
            await _stop.CancelAsync();
            await _serving.WaitAsync(Patience);
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }

            await Transport.DisposeAsync();
            _stop.Dispose();
            _release.Dispose();
        }
    }
}
