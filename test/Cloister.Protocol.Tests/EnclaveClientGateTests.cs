namespace Cloister.Protocol.Tests;

/// <summary>The request lane's turn is held as long as the worker holds the frame (docs/design/rings.md, "Lanes").</summary>
public sealed class EnclaveClientGateTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ACallerThatGivesUp_KeepsItsTurnUntilTheWorkerAnswers_SoOthersCannotBeCrowdedOutByAbandonedWork()
    {
        var worker = new HeldWorker();
        var client = new EnclaveClient(new AbandoningTransport(worker), new NoKeys(), new FairGate("requests", capacity: 1, maxRunningPerTenant: 1, maxQueuedPerTenant: 10));
        using var giveUp = new CancellationTokenSource();

        var abandoned = client.SendAsync(new FingerprintRequest("a") { TenantId = "a" }, giveUp.Token);
        await worker.Entered.WaitAsync(Patience);
        await giveUp.CancelAsync();

        // The caller stops waiting at once...
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned.WaitAsync(Patience));
        var other = client.SendAsync(new FingerprintRequest("b") { TenantId = "b" }, CancellationToken.None);
        await Task.Delay(200);

        // ...but its frame is still in the worker: it keeps the only turn, the other tenant's waits for it.
        Assert.False(other.IsCompleted);
        Assert.Equal(1, worker.Calls);

        worker.Release();
        await other.WaitAsync(Patience);
        Assert.Equal(2, worker.Calls);
    }

    [Fact]
    public async Task AFrameTheWorkerNeverAnswers_FreesItsTurnAfterTheTimeout()
    {
        var worker = new HeldWorker();
        var client = new EnclaveClient(new AbandoningTransport(worker), new NoKeys(), new FairGate("requests", capacity: 1, maxRunningPerTenant: 1, maxQueuedPerTenant: 10))
        {
            RequestFrameTimeout = TimeSpan.FromMilliseconds(300),
        };
        using var giveUp = new CancellationTokenSource();

        var stuck = client.SendAsync(new FingerprintRequest("a") { TenantId = "a" }, giveUp.Token);
        await worker.Entered.WaitAsync(Patience);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stuck.WaitAsync(Patience));

        // The worker never answers the first frame; after the timeout the next one gets the turn (and waits in the worker too).
        var next = client.SendAsync(new FingerprintRequest("b") { TenantId = "b" }, CancellationToken.None);
        for (var i = 0; i < 100 && worker.Calls < 2; i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(2, worker.Calls);

        // A caller still waiting when the timeout ends hears that the worker is unavailable.
        await Assert.ThrowsAsync<TransportUnavailableException>(() => next.WaitAsync(Patience));
        worker.Release();
    }

    [Fact]
    public async Task ACallerStillWaitingForItsTurn_MayGiveUp()
    {
        var worker = new HeldWorker();
        var client = new EnclaveClient(new AbandoningTransport(worker), new NoKeys(), new FairGate("requests", capacity: 1, maxRunningPerTenant: 1, maxQueuedPerTenant: 10));
        var first = client.SendAsync(new FingerprintRequest("a") { TenantId = "a" }, CancellationToken.None);
        await worker.Entered.WaitAsync(Patience);
        using var giveUp = new CancellationTokenSource();

        var waiting = client.SendAsync(new FingerprintRequest("b") { TenantId = "b" }, giveUp.Token);
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Patience));
        worker.Release();
        await first.WaitAsync(Patience);
        Assert.Equal(1, worker.Calls);
    }

    [Fact]
    public async Task ATurnTakenBeforehand_AndTheRequestsOtherSlots_AreHeldUntilTheWorkerAnswers_ThoughTheCallerDisposedThem()
    {
        var worker = new HeldWorker();
        var requests = new FairGate("requests", capacity: 1, maxRunningPerTenant: 1, maxQueuedPerTenant: 10);
        var large = new FairGate("large requests", capacity: 1, maxRunningPerTenant: 1, maxQueuedPerTenant: 10);
        var client = new EnclaveClient(new AbandoningTransport(worker), new NoKeys(), requests);
        using var giveUp = new CancellationTokenSource();

        // As a route does: a large-request slot for the request (RequestHolds), the worker turn taken first, then the send.
        Task abandoned;
        using (RequestHolds.Begin())
        {
            var slot = await large.EnterAsync("a", CancellationToken.None);
            RequestHolds.Add(slot);
            var turn = await client.EnterAsync("a", CancellationToken.None);
            abandoned = SendAndDisposeAsync(client, turn, slot, giveUp.Token);
        }

        await worker.Entered.WaitAsync(Patience);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned.WaitAsync(Patience));

        // The caller disposed both, but its frame is still in the worker: neither slot is free.
        Assert.Equal(1, requests.Running);
        Assert.Equal(1, large.Running);

        worker.Release();
        for (var i = 0; i < 100 && (requests.Running + large.Running) > 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal((0, 0), (requests.Running, large.Running));

        static async Task SendAndDisposeAsync(EnclaveClient client, FairGate.Ticket? turn, FairGate.Ticket slot, CancellationToken cancellationToken)
        {
            using (slot)
            using (turn)
            {
                await client.SendAsync<FingerprintResponse>(new FingerprintRequest("a") { TenantId = "a" }, turn, cancellationToken);
            }
        }
    }

    /// <summary>Answers every fingerprint request once released; counts the requests it got.</summary>
    private sealed class HeldWorker : IFrameHandler
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public Task Entered => _entered.Task;

        public int Calls => Volatile.Read(ref _calls);

        public void Release() => _release.TrySetResult();

        public async ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            _entered.TrySetResult();
            await _release.Task;
            return Frames.Enclave.Encode(new FingerprintResponse([1, 2, 3]));
        }
    }

    /// <summary>Like the rings: cancelling abandons only the caller's wait; the frame stays with the worker, which answers later.</summary>
    private sealed class AbandoningTransport(IFrameHandler worker) : IFrameTransport
    {
        public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
            => new(worker.HandleAsync(request, CancellationToken.None).AsTask().WaitAsync(cancellationToken));
    }

    private sealed class NoKeys : IWrappedKeySource
    {
        public Task<IReadOnlyList<WrappedKey>> GetWrappedKeysAsync(string tenantId, CancellationToken cancellationToken)
            => Task.FromResult<IReadOnlyList<WrappedKey>>([]);
    }
}
