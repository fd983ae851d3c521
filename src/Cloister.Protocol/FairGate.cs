namespace Cloister.Protocol;

/// <summary>
/// Admits work for many tenants into a shared pool of <c>capacity</c> slots, fairly: each tenant may hold at most
/// <c>maxRunningPerTenant</c> slots and have at most <c>maxQueuedPerTenant</c> entries waiting; beyond that
/// <see cref="Enqueue"/> refuses with <see cref="TenantBusyException"/> (HTTP 429). When a slot frees up it goes to the
/// next tenant in turn that has work waiting (round robin over tenants, first come first served within one), so a
/// tenant with a thousand waiting requests delays another tenant's by at most one request per slot, not a thousand.
/// Work-conserving: a tenant alone may use every slot up to its own limit.
/// </summary>
/// <remarks>Thread-safe. Tickets are granted outside the lock, with continuations on the thread pool.</remarks>
public sealed class FairGate
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TenantQueue> _tenants = new(StringComparer.Ordinal);
    private readonly LinkedList<TenantQueue> _turns = new();
    private readonly int _capacity;
    private readonly int _maxRunning;
    private readonly int _maxQueued;
    private int _running;

    /// <summary>Create a gate; every bound must be at least 1 (queue: 0 or more).</summary>
    public FairGate(string what, int capacity, int maxRunningPerTenant, int maxQueuedPerTenant)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRunningPerTenant, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxQueuedPerTenant);
        What = what;
        _capacity = capacity;
        _maxRunning = maxRunningPerTenant;
        _maxQueued = maxQueuedPerTenant;
    }

    /// <summary>What the slots are for, in the refusal's message ("invocations", "requests to the enclave worker").</summary>
    public string What { get; }

    /// <summary>Slots in use now (tests and diagnostics).</summary>
    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    /// <summary>Take a slot for <paramref name="tenant"/> now, or a place in its queue.</summary>
    /// <returns>A ticket: <see cref="Ticket.Granted"/> completes when the slot is this ticket's. Dispose it when the work is done (or abandoned).</returns>
    /// <exception cref="TenantBusyException">The tenant already has its maximum queued.</exception>
    public Ticket Enqueue(string tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        lock (_lock)
        {
            if (!_tenants.TryGetValue(tenant, out var queue))
            {
                queue = new TenantQueue(tenant);
                _tenants.Add(tenant, queue);
            }

            if (queue.Waiting.Count == 0 && _running < _capacity && queue.Running < _maxRunning)
            {
                _running++;
                queue.Running++;
                return new Ticket(this, queue, granted: true);
            }

            if (queue.Waiting.Count >= _maxQueued)
            {
                Forget(queue);
                throw new TenantBusyException(What, queue.Running, _maxRunning, _maxQueued);
            }

            var ticket = new Ticket(this, queue, granted: false);
            ticket.Node = queue.Waiting.AddLast(ticket);
            queue.Turn ??= _turns.AddLast(queue);
            return ticket;
        }
    }

    /// <summary>Take a slot for <paramref name="tenant"/>, waiting in its queue if need be.</summary>
    /// <exception cref="TenantBusyException">The tenant already has its maximum queued.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public async ValueTask<Ticket> EnterAsync(string tenant, CancellationToken cancellationToken)
    {
        var ticket = Enqueue(tenant);
        if (ticket.Granted.IsCompleted)
        {
            return ticket;
        }

        try
        {
            await ticket.Granted.WaitAsync(cancellationToken).ConfigureAwait(false);
            return ticket;
        }
        catch
        {
            ticket.Dispose();
            throw;
        }
    }

    private void Leave(Ticket ticket)
    {
        List<Ticket>? granted = null;
        lock (_lock)
        {
            var queue = ticket.Queue;
            if (ticket.Node is { } node)
            {
                // Still waiting: leave the queue.
                queue.Waiting.Remove(node);
                ticket.Node = null;
                if (queue.Waiting.Count == 0 && queue.Turn is not null)
                {
                    _turns.Remove(queue.Turn);
                    queue.Turn = null;
                }
            }
            else
            {
                _running--;
                queue.Running--;
                granted = Dispatch();
            }

            Forget(queue);
        }

        if (granted is not null)
        {
            foreach (var next in granted)
            {
                next.Grant();
            }
        }
    }

    /// <summary>Hands free slots to waiting tickets, one tenant per turn; called under the lock, grants outside it.</summary>
    private List<Ticket>? Dispatch()
    {
        List<Ticket>? granted = null;
        while (_running < _capacity)
        {
            var turn = _turns.First;
            var checkedTurns = 0;
            while (turn is not null && checkedTurns < _turns.Count && turn.Value.Running >= _maxRunning)
            {
                turn = turn.Next;
                checkedTurns++;
            }

            if (turn is null || checkedTurns >= _turns.Count)
            {
                break; // every tenant with work waiting is at its own limit
            }

            var queue = turn.Value;
            var ticket = queue.Waiting.First!.Value;
            queue.Waiting.RemoveFirst();
            ticket.Node = null;
            _running++;
            queue.Running++;
            _turns.Remove(turn);
            queue.Turn = queue.Waiting.Count > 0 ? _turns.AddLast(queue) : null;
            (granted ??= []).Add(ticket);
        }

        return granted;
    }

    private void Forget(TenantQueue queue)
    {
        if (queue.Running == 0 && queue.Waiting.Count == 0)
        {
            _tenants.Remove(queue.Tenant);
        }
    }

    /// <summary>A tenant's running count and waiting tickets.</summary>
    internal sealed class TenantQueue(string tenant)
    {
        public string Tenant { get; } = tenant;

        public int Running { get; set; }

        public LinkedList<Ticket> Waiting { get; } = new();

        public LinkedListNode<TenantQueue>? Turn { get; set; }
    }

    /// <summary>A place in the gate: waiting, then holding a slot until disposed.</summary>
    public sealed class Ticket : IDisposable
    {
        private readonly FairGate _gate;
        private readonly TaskCompletionSource? _granted;
        private int _disposed;
        private int _holds = 1; // the owner's, given up by Dispose; each Hold adds one

        internal Ticket(FairGate gate, TenantQueue queue, bool granted)
        {
            _gate = gate;
            Queue = queue;
            _granted = granted ? null : new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        /// <summary>Completes when this ticket holds a slot.</summary>
        public Task Granted => _granted?.Task ?? Task.CompletedTask;

        internal TenantQueue Queue { get; }

        internal LinkedListNode<Ticket>? Node { get; set; }

        /// <summary>
        /// Give the slot back, or leave the queue when it was still waiting; a slot still held by a <see cref="Hold"/>
        /// (work sent on the ticket's behalf that has not ended) is given back when the last hold ends.
        /// </summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Release();
            }
        }

        /// <summary>
        /// Keeps the slot taken until the returned hold is disposed, even if the ticket's owner disposes it first: for work
        /// that goes on after its caller gave up (a frame the worker has not answered). Null when the ticket is no longer held.
        /// </summary>
        public IDisposable? Hold()
        {
            var holds = Volatile.Read(ref _holds);
            while (holds > 0)
            {
                var seen = Interlocked.CompareExchange(ref _holds, holds + 1, holds);
                if (seen == holds)
                {
                    return new TicketHold(this);
                }

                holds = seen;
            }

            return null;
        }

        private void Release()
        {
            if (Interlocked.Decrement(ref _holds) == 0)
            {
                _gate.Leave(this);
            }
        }

        private sealed class TicketHold(Ticket ticket) : IDisposable
        {
            private Ticket? _ticket = ticket;

            public void Dispose() => Interlocked.Exchange(ref _ticket, null)?.Release();
        }

        internal void Grant() => _granted!.TrySetResult();
    }
}

/// <summary>A tenant has as much work running and waiting as it may (HTTP 429 with <c>Retry-After</c>).</summary>
public sealed class TenantBusyException : Exception
{
    /// <summary>Create for a gate of <paramref name="what"/>.</summary>
    public TenantBusyException(string what, int running, int maxRunning, int maxQueued)
        : base($"This tenant has {running} {what} running (at most {maxRunning}) and {maxQueued} more waiting (at most {maxQueued}); retry later.")
    {
        What = what;
    }

    /// <summary>What the tenant has too many of.</summary>
    public string What { get; }

    /// <summary>When to retry.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);
}
