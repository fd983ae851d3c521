using System.Text.Json;
using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Runner;

namespace Cloister.Sandbox.Pool;

/// <summary>Sizes and timings of a <see cref="SandboxPool"/>; the defaults are safe.</summary>
public sealed record SandboxPoolOptions
{
    /// <summary>Sandboxes kept started per function version, even when idle; default 0.</summary>
    public int MinPerFunction { get; init; }

    /// <summary>
    /// Sandboxes per function version at most (leased plus idle); beyond it callers wait. Default 4. A function's own
    /// <see cref="FunctionSandboxDefinition.MaxConcurrency"/> (its manifest's <c>limits.concurrency</c>) lowers it for that function.
    /// </summary>
    public int MaxPerFunction { get; init; } = 4;

    /// <summary>An idle sandbox above the minimum is disposed after this long unused; default 5 minutes.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first unusable setting.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPerFunction, 1, nameof(MaxPerFunction));
        ArgumentOutOfRangeException.ThrowIfNegative(MinPerFunction, nameof(MinPerFunction));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MinPerFunction, MaxPerFunction, nameof(MinPerFunction));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(IdleTimeout, TimeSpan.Zero, nameof(IdleTimeout));
    }
}

/// <summary>A pool's sizes now and its cold starts so far, all function versions together (the worker's health answer carries them to /metrics).</summary>
/// <param name="Idle">Warm sandboxes waiting for a lease.</param>
/// <param name="Leased">Sandboxes leased now.</param>
/// <param name="ColdStarts">Leases that found no warm sandbox and started one.</param>
public readonly record struct SandboxPoolCounts(int Idle, int Leased, long ColdStarts);

/// <summary>
/// Warm sandboxes per function version (<see cref="FunctionKey"/>): a lease takes an idle sandbox
/// of that key or starts a new one, and returning the lease keeps the sandbox warm only when it is
/// healthy and the function's isolation is <see cref="FunctionIsolation.Warm"/>. A sandbox belongs
/// to the key it was started for and is never handed to another. Thread-safe.
/// </summary>
/// <remarks>
/// The pool owns every idle sandbox; a lease owns its sandbox until the lease is disposed, which
/// gives it back (or disposes it). Disposing the pool disposes the idle sandboxes at once and every
/// leased one when its lease is returned. Idle sandboxes above the minimum are disposed after
/// <see cref="SandboxPoolOptions.IdleTimeout"/>, measured with the injected <see cref="TimeProvider"/>.
/// A warm sandbox's wall-clock and CPU limits apply per invocation (see <see cref="SandboxedFunction"/>),
/// so it stays warm until idle eviction or until it breaks; a broken one is never leased again.
/// </remarks>
public sealed class SandboxPool : IAsyncDisposable
{
    private readonly ISandboxBackend _backend;
    private readonly SandboxPoolOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<FunctionKey, FunctionSlots> _functions = [];
    private readonly Lock _lock = new();
    private readonly ITimer _sweepTimer;
    private readonly CancellationTokenSource _disposing = new();
    private bool _disposed;
    private int _sweeping;
    private int _leased;
    private long _coldStarts;

    /// <summary>Creates an empty pool that starts sandboxes with <paramref name="backend"/>.</summary>
    public SandboxPool(ISandboxBackend backend, SandboxPoolOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        _options = options ?? new SandboxPoolOptions();
        _options.Validate();
        _backend = backend;
        _time = timeProvider ?? TimeProvider.System;
        var period = _options.IdleTimeout / 2;
        _sweepTimer = _time.CreateTimer(_ => _ = SweepOnTimerAsync(), null, period, period);
    }

    /// <summary>The backend that starts this pool's sandboxes.</summary>
    public ISandboxBackend Backend => _backend;

    /// <summary>
    /// Leases a sandbox for <paramref name="definition"/>'s key: an idle warm one when there is
    /// one (<see cref="SandboxLease.WasWarm"/>), else a newly started one. When the key already has
    /// <see cref="MaxSandboxes"/> sandboxes leased, waits for one to be returned.
    /// A sandbox whose function failed to load is still leased; invoking it returns the load error.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting or starting.</exception>
    /// <exception cref="SandboxException">The backend could not start a sandbox.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public async Task<SandboxLease> LeaseAsync(FunctionSandboxDefinition definition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var slots = Slots(definition);
        await slots.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<SandboxedFunction> stale = [];
            SandboxedFunction? warm = null;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                while (slots.Idle.Count > 0)
                {
                    var candidate = slots.Idle.Pop().Sandbox;
                    if (IsFitForLease(candidate))
                    {
                        warm = candidate;
                        break;
                    }

                    stale.Add(candidate);
                }
            }

            foreach (var sandbox in stale)
            {
                await sandbox.DisposeAsync().ConfigureAwait(false);
            }

            if (warm is not null)
            {
                Interlocked.Increment(ref _leased);
                return new SandboxLease(this, slots, warm, wasWarm: true);
            }

            var fresh = await StartAsync(slots.Definition, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _coldStarts);
            Interlocked.Increment(ref _leased);
            return new SandboxLease(this, slots, fresh, wasWarm: false);
        }
        catch
        {
            slots.Gate.Release();
            throw;
        }
    }

    /// <summary>Starts idle sandboxes for <paramref name="definition"/> until the key has <see cref="SandboxPoolOptions.MinPerFunction"/>.</summary>
    /// <exception cref="SandboxException">The backend could not start a sandbox.</exception>
    public async Task PrestartAsync(FunctionSandboxDefinition definition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var slots = Slots(definition);
        await TopUpAsync(slots, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The most sandboxes (leased plus idle) the pool runs at once for <paramref name="definition"/>: its
    /// <see cref="FunctionSandboxDefinition.MaxConcurrency"/>, capped by <see cref="SandboxPoolOptions.MaxPerFunction"/>.
    /// </summary>
    public int MaxSandboxes(FunctionSandboxDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return Math.Min(definition.MaxConcurrency ?? _options.MaxPerFunction, _options.MaxPerFunction);
    }

    /// <summary>The pool's sizes and cold starts now; cheap enough for every health ping (one pass over the function versions).</summary>
    public SandboxPoolCounts Counts()
    {
        int idle = 0;
        lock (_lock)
        {
            foreach (var slots in _functions.Values)
            {
                idle += slots.Idle.Count;
            }
        }

        return new SandboxPoolCounts(idle, Volatile.Read(ref _leased), Interlocked.Read(ref _coldStarts));
    }

    /// <summary>How many idle sandboxes the pool holds for <paramref name="key"/>.</summary>
    public int IdleCount(FunctionKey key)
    {
        lock (_lock)
        {
            return _functions.TryGetValue(key, out var slots) ? slots.Idle.Count : 0;
        }
    }

    /// <summary>Disposes the idle sandboxes of <paramref name="key"/> and forgets its minimum (the function was deleted); leased ones are disposed when returned.</summary>
    public async Task RetireAsync(FunctionKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        List<SandboxedFunction> doomed = [];
        lock (_lock)
        {
            if (_functions.Remove(key, out var slots))
            {
                slots.Retired = true;
                doomed.AddRange(slots.Idle.Select(entry => entry.Sandbox));
                slots.Idle.Clear();
            }
        }

        foreach (var sandbox in doomed)
        {
            await sandbox.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Disposes idle sandboxes that have been unused for <see cref="SandboxPoolOptions.IdleTimeout"/>
    /// (keeping the per-function minimum) and any that are no longer healthy, then starts
    /// replacements up to the minimum. Runs periodically on the pool's timer; returns how many it disposed.
    /// </summary>
    public async Task<int> EvictIdleAsync()
    {
        List<SandboxedFunction> doomed = [];
        List<FunctionSlots> toTopUp = [];
        lock (_lock)
        {
            if (_disposed)
            {
                return 0;
            }

            var now = _time.GetUtcNow();
            foreach (var slots in _functions.Values)
            {
                // Oldest-returned first (the stack's bottom), so the longest-idle go before the minimum is reached.
                var kept = new List<IdleSandbox>();
                int remaining = slots.Idle.Count;
                foreach (var entry in slots.Idle.Reverse())
                {
                    bool idleTooLong = now - entry.IdleSince >= _options.IdleTimeout;
                    if (!IsFitForLease(entry.Sandbox) || (idleTooLong && remaining > _options.MinPerFunction))
                    {
                        doomed.Add(entry.Sandbox);
                        remaining--;
                    }
                    else
                    {
                        kept.Add(entry);
                    }
                }

                slots.Idle.Clear();
                for (int i = 0; i < kept.Count; i++)
                {
                    slots.Idle.Push(kept[i]);
                }

                if (_options.MinPerFunction > 0)
                {
                    toTopUp.Add(slots);
                }
            }
        }

        foreach (var sandbox in doomed)
        {
            await sandbox.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var slots in toTopUp)
        {
            try
            {
                await TopUpAsync(slots, _disposing.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            catch (SandboxException)
            {
                // A broken host; the next lease reports it to its caller.
            }
        }

        return doomed.Count;
    }

    /// <summary>The timer's sweep: one at a time, and never an unobserved exception.</summary>
    private async Task SweepOnTimerAsync()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return;
        }

        try
        {
            await EvictIdleAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is SandboxException or ObjectDisposedException or IOException)
        {
            // A sandbox that fails to die cleanly is the backend's problem to report; the next sweep retries.
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        List<SandboxedFunction> doomed = [];
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var slots in _functions.Values)
            {
                slots.Retired = true;
                doomed.AddRange(slots.Idle.Select(entry => entry.Sandbox));
                slots.Idle.Clear();
            }

            _functions.Clear();
        }

        await _sweepTimer.DisposeAsync().ConfigureAwait(false);
        await _disposing.CancelAsync().ConfigureAwait(false);

        // All at once: killing a sandbox and removing its host state waits on the kernel, not on the CPU, so a stop with many
        // warm sandboxes takes as long as the slowest one.
        await Task.WhenAll(doomed.Select(sandbox => sandbox.DisposeAsync().AsTask())).ConfigureAwait(false);

        // _disposing is cancelled but not disposed: a sweep already running may still read its token.
    }

    /// <summary>A lease was given back (before its sandbox is kept or disposed).</summary>
    internal void Unleased() => Interlocked.Decrement(ref _leased);

    /// <summary>
    /// Gives a leased sandbox back: kept idle when healthy and either the function is warm or the
    /// sandbox never ran an invocation (a pre-started one); otherwise disposed.
    /// </summary>
    internal async ValueTask ReturnAsync(FunctionSlots slots, SandboxedFunction sandbox)
    {
        bool kept = false;
        try
        {
            lock (_lock)
            {
                if (!_disposed && !slots.Retired && sandbox.Key == slots.Definition.Key
                    && (slots.Definition.Isolation == FunctionIsolation.Warm || sandbox.InvocationCount == 0) && IsFitForLease(sandbox))
                {
                    slots.Idle.Push(new IdleSandbox(sandbox, _time.GetUtcNow()));
                    kept = true;
                }
            }

            if (!kept)
            {
                await sandbox.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            slots.Gate.Release();
        }
    }

    /// <summary>Healthy (its limits are per invocation, so its age does not matter).</summary>
    private static bool IsFitForLease(SandboxedFunction sandbox) => sandbox.IsReusable;

    private FunctionSlots Slots(FunctionSandboxDefinition definition)
    {
        definition.Validate();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_functions.TryGetValue(definition.Key, out var slots))
            {
                slots = new FunctionSlots(definition, MaxSandboxes(definition));
                _functions.Add(definition.Key, slots);
            }
            else if (slots.Definition != definition)
            {
                throw new ArgumentException($"Function version {definition.Key} is already pooled with a different definition; a version is immutable.", nameof(definition));
            }

            return slots;
        }
    }

    private async Task<SandboxedFunction> StartAsync(FunctionSandboxDefinition definition, CancellationToken cancellationToken)
    {
        var sandbox = new SandboxedFunction(_backend, definition);
        try
        {
            await sandbox.StartAsync(cancellationToken).ConfigureAwait(false);
            return sandbox;
        }
        catch
        {
            await sandbox.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts idle sandboxes while the key has fewer than the minimum and a free slot; each start holds a slot so the maximum is kept.</summary>
    private async Task TopUpAsync(FunctionSlots slots, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_lock)
            {
                if (_disposed || slots.Retired || slots.Idle.Count >= _options.MinPerFunction)
                {
                    return;
                }
            }

            if (!await slots.Gate.WaitAsync(TimeSpan.Zero, cancellationToken).ConfigureAwait(false))
            {
                return; // Every slot is leased or starting: the minimum is met by busy sandboxes.
            }

            SandboxedFunction sandbox;
            try
            {
                sandbox = await StartAsync(slots.Definition, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                slots.Gate.Release();
                throw;
            }

            bool loaded = sandbox.IsReusable;
            await ReturnAsync(slots, sandbox).ConfigureAwait(false);
            if (!loaded)
            {
                return; // The function does not load; do not spin restarting it.
            }
        }
    }

    /// <summary>The pool's state for one function version.</summary>
    internal sealed class FunctionSlots(FunctionSandboxDefinition definition, int max)
    {
        public FunctionSandboxDefinition Definition { get; } = definition;

        /// <summary>One count per sandbox that is leased or starting; idle ones hold none.</summary>
        public SemaphoreSlim Gate { get; } = new(max, max);

        /// <summary>Newest-returned on top, so leases reuse the warmest and the oldest idle out.</summary>
        public Stack<IdleSandbox> Idle { get; } = new();

        public bool Retired { get; set; }
    }

    internal sealed record IdleSandbox(SandboxedFunction Sandbox, DateTimeOffset IdleSince);
}

/// <summary>A sandbox leased from a <see cref="SandboxPool"/>; disposing the lease gives it back.</summary>
/// <remarks>The lease owns the sandbox until it is disposed; do not dispose <see cref="Sandbox"/> yourself.</remarks>
public sealed class SandboxLease : IAsyncDisposable
{
    private readonly SandboxPool _pool;
    private readonly SandboxPool.FunctionSlots _slots;
    private int _returned;

    internal SandboxLease(SandboxPool pool, SandboxPool.FunctionSlots slots, SandboxedFunction sandbox, bool wasWarm)
    {
        _pool = pool;
        _slots = slots;
        Sandbox = sandbox;
        WasWarm = wasWarm;
    }

    /// <summary>The leased sandbox.</summary>
    public SandboxedFunction Sandbox { get; }

    /// <summary>Whether the sandbox was already started (taken from the pool) rather than started for this lease.</summary>
    public bool WasWarm { get; }

    /// <summary>Runs one invocation in the leased sandbox; see <see cref="SandboxedFunction.InvokeAsync"/>.</summary>
    public Task<InvocationOutcome> InvokeAsync(JsonElement @event, IHostCalls hostCalls, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _returned) != 0, this);
        return Sandbox.InvokeAsync(@event, hostCalls, cancellationToken);
    }

    /// <summary>Returns the sandbox to the pool (kept warm if healthy and the function is warm, otherwise disposed).</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _returned, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        _pool.Unleased();
        return _pool.ReturnAsync(_slots, Sandbox);
    }
}
