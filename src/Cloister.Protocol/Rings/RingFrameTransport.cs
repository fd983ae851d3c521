using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Cloister.Protocol.Rings;

/// <summary>
/// The router's side: creates the shared memory file, sends request frames and matches response frames
/// to their callers (many callers may send concurrently). Layout and protocol: docs/design/rings.md.
/// </summary>
/// <remarks>
/// Writers take turns on the request ring (an async lock; a writer that finds the ring full blocks its thread,
/// spinning then sleeping on the futex, until the worker frees slots). One dedicated background thread reads the
/// response ring and completes the callers, whose continuations run on the thread pool (or, with
/// <see cref="RingOptions.InlineCompletions"/>, on the reader thread when no other response waits). While idle it spins for <see cref="RingOptions.SpinMicroseconds"/>
/// after each message, then sleeps, waking every 100 ms to check that the worker is still alive (its closed flag
/// and its process id). A worker that closed the file or whose process is gone fails the transport on its own;
/// the supervisor calls <see cref="Fail"/> when it sees the process exit.
/// </remarks>
public sealed class RingFrameTransport : IFrameTransport, IAsyncDisposable
{
    /// <summary>The status of a response carrying the handler's answer.</summary>
    internal const int StatusOk = 0;

    /// <summary>The status a worker writes when its handler threw instead of answering.</summary>
    internal const int StatusHandlerFailed = 1;

    /// <summary>The status a worker writes when its answer is larger than <see cref="RingOptions.MaxMessageBytes"/>.</summary>
    internal const int StatusTooLarge = 2;

    // A request id carries its lane in its two low bits, so the response reader can give the lane's slot back even when
    // the caller stopped waiting.
    private const int LaneBits = 2;

    private readonly RingFile _file;
    private readonly SpscRing _requests;
    private readonly SpscRing _responses;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, PendingResponse> _pending = new();
    private readonly RouterWaitContext _context;
    private readonly bool _inlineCompletions;
    private readonly Thread _reader;
    private readonly Lock _lifecycle = new();
    private readonly SemaphoreSlim[] _laneSlots;
    private readonly CancellationTokenSource _failed = new();
    private readonly TaskCompletionSource<string> _failedWith = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _unmapped;
    private long _nextId;
    private long _responsesReceived;
    private volatile string? _failure;
    private int _disposed;

    private RingFrameTransport(string path, RingFile file)
    {
        Path = path;
        _file = file;
        _requests = file.RequestRing();
        _responses = file.ResponseRing();
        _context = new RouterWaitContext(this);
        _inlineCompletions = file.Options.InlineCompletions;
        _laneSlots =
        [
            new SemaphoreSlim(file.Options.MaxConcurrency, file.Options.MaxConcurrency),
            new SemaphoreSlim(file.Options.MaxInvocations, file.Options.MaxInvocations),
        ];
        _reader = new Thread(ReadResponses) { IsBackground = true, Name = "cloister-ring-responses" };
        _reader.Start();
    }

    /// <summary>The shared memory file the worker opens (pass it on the worker's command line).</summary>
    public string Path { get; }

    /// <summary>Create the file at <paramref name="path"/> (0600; an existing file is replaced) and the rings in it.</summary>
    /// <exception cref="PlatformNotSupportedException">Not Linux on x64 or arm64 (the rings need futexes).</exception>
    public static RingFrameTransport Create(string path, RingOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!Futex.IsSupported)
        {
            throw new PlatformNotSupportedException("The shared memory rings need Linux on x64 or arm64.");
        }

        return new RingFrameTransport(path, RingFile.Create(path, options ?? new RingOptions()));
    }

    /// <inheritdoc />
    /// <remarks>A frame of <see cref="FrameLane.Request"/>; see <see cref="SendAsync(ReadOnlyMemory{byte}, FrameLane, CancellationToken)"/>.</remarks>
    public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        => SendAsync(request, FrameLane.Request, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// The sender first takes a slot of <paramref name="lane"/> (waiting asynchronously while the worker already has as
    /// many frames of that lane as it serves at once, so the worker never has to stop reading the ring; a health ping
    /// takes none). The request is copied into the ring before the first await that can wait for the worker, so the
    /// caller may reuse its buffer once the returned task completes. Cancellation abandons only this request: once
    /// written it stays in the ring, its response is discarded when it arrives, and only then is its slot free again.
    /// </remarks>
    /// <exception cref="TransportUnavailableException">
    /// The worker is gone (see <see cref="Fail"/>), the transport is disposed, or the worker's handler failed.
    /// </exception>
    /// <exception cref="FrameTooLargeException">The request, or the worker's answer, is larger than <see cref="RingOptions.MaxMessageBytes"/>.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, FrameLane lane, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (request.Length > _file.Options.MaxMessageBytes)
        {
            throw TooLarge("request");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var slots = lane == FrameLane.Control ? null : _laneSlots[(int)lane];
        if (slots is not null && !slots.Wait(0, CancellationToken.None))
        {
            await WaitForSlotAsync(slots, cancellationToken).ConfigureAwait(false);
        }

        var pending = PendingResponse.Rent(this, (Interlocked.Increment(ref _nextId) << LaneBits) | (long)lane);
        _pending[pending.Id] = pending;
        var written = false;
        try
        {
            if (!_writeLock.Wait(0, CancellationToken.None))
            {
                await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (Environment.CurrentManagedThreadId == _reader.ManagedThreadId && !_requests.HasRoomFor(request.Length))
            {
                // A caller continuing inline on the reader thread must never wait for room: the worker may be waiting
                // for this very thread to drain responses. Move to the thread pool first.
                _writeLock.Release();
                await Task.Yield();
                await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            try
            {
                ThrowIfFailed();
                _requests.Write(pending.Id, (int)lane, request.Span, _context);
                written = true;
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception error)
        {
            if (!written)
            {
                slots?.Release(); // never reached the worker: its slot is free again
            }

            Abandon(pending);
            if (error is OperationCanceledException or TransportUnavailableException)
            {
                throw;
            }

            throw Unavailable(error);
        }

        // Fail may have run between the dictionary insert and the write; it completes whatever it finds, and this
        // re-check completes what it may have missed.
        if (_failure is not null)
        {
            Abandon(pending);
        }

        byte[] response;
        using (cancellationToken.UnsafeRegister(static (state, token) => ((PendingResponse)state!).Owner!.Cancel((PendingResponse)state!, token), pending))
        {
            response = await pending.Task.ConfigureAwait(false);
        }

        pending.Return(); // after the registration is gone: a late cancellation must not touch a reused instance
        return response;
    }

    /// <summary>Completes when the transport failed (<see cref="Fail"/>, a corrupt ring, the worker gone), with the reason.</summary>
    public Task<string> Failed => _failedWith.Task;

    /// <summary>
    /// How many response frames the worker has written so far (including those of cancelled requests): a supervisor
    /// tells a busy worker, whose responses still come, from a hung one, whose responses stopped.
    /// </summary>
    public long ResponsesReceived => Volatile.Read(ref _responsesReceived);

    /// <summary>How often a sender found the request ring full and waited (tests and diagnostics).</summary>
    internal long RequestRingFullWaits => _requests.Waits;

    /// <summary>How often the response reader slept on the futex (tests and diagnostics).</summary>
    internal long ResponseReaderSleeps => _responses.Sleeps;

    /// <summary>The worker died: fail every in-flight and later send with <see cref="TransportUnavailableException"/>.</summary>
    /// <remarks>Idempotent; the first reason is kept. Wakes a writer waiting on a full ring so it fails too.</remarks>
    public void Fail(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        if (Interlocked.CompareExchange(ref _failure, reason, null) is not null)
        {
            return;
        }

        _failedWith.TrySetResult(reason);
        _failed.Cancel(); // senders waiting for a lane slot give up

        foreach (var pending in _pending.Values)
        {
            Abandon(pending);
        }

        lock (_lifecycle)
        {
            if (!_unmapped)
            {
                _file.WakeAll();
            }
        }
    }

    /// <summary>Fails pending sends, unmaps and deletes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        Fail("the ring transport was disposed");
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Volatile.Write(ref _file.RouterClosed, 1);
        _file.WakeAll();
        await Task.Run(_reader.Join).ConfigureAwait(false);

        // A writer blocked on a full ring leaves as soon as it sees the failure; wait for it before unmapping.
        await _writeLock.WaitAsync().ConfigureAwait(false);
        lock (_lifecycle)
        {
            _unmapped = true;
            _file.Dispose();
        }

        _writeLock.Release(); // a sender queued behind the lock sees the failure and throws
        File.Delete(Path);
    }

    internal void Cancel(PendingResponse pending, CancellationToken token)
    {
        if (pending.TryClaim())
        {
            _pending.TryRemove(new KeyValuePair<long, PendingResponse>(pending.Id, pending));
            pending.SetException(new OperationCanceledException(token));
        }
    }

    private void Abandon(PendingResponse pending)
    {
        _pending.TryRemove(new KeyValuePair<long, PendingResponse>(pending.Id, pending));
        if (pending.TryClaim())
        {
            pending.SetException(Unavailable(null));
        }
    }

    private TransportUnavailableException Unavailable(Exception? inner)
    {
        string message = $"The enclave worker is unavailable: {_failure ?? "the ring transport failed"}.";
        return inner is null ? new TransportUnavailableException(message) : new TransportUnavailableException(message, inner);
    }

    private async ValueTask WaitForSlotAsync(SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _failed.Token);
        try
        {
            await slots.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(null);
        }

        if (_failure is not null)
        {
            slots.Release();
            throw Unavailable(null);
        }
    }

    private void ReleaseSlot(FrameLane lane)
    {
        if (lane != FrameLane.Control && (int)lane < _laneSlots.Length)
        {
            _laneSlots[(int)lane].Release();
        }
    }

    private FrameTooLargeException TooLarge(string what)
        => new($"The {what} is larger than the {_file.Options.MaxMessageBytes} bytes one message between the router and the enclave worker may carry.", _file.Options.MaxMessageBytes);

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            throw Unavailable(null);
        }
    }

    private void ReadResponses()
    {
        try
        {
            while (_failure is null)
            {
                var (id, length, status) = _responses.ReadHeader(_context);
                Volatile.Write(ref _responsesReceived, _responsesReceived + 1); // this thread is the only writer
                var lane = (FrameLane)(id & ((1 << LaneBits) - 1));
                if (_pending.TryRemove(id, out var pending) && pending.TryClaim())
                {
                    var response = status == StatusOk ? GC.AllocateUninitializedArray<byte>(length) : [];
                    _responses.ReadBody(length, response, discard: status != StatusOk, _context);
                    ReleaseSlot(lane);
                    switch (status)
                    {
                        case StatusOk:
                            // Opted in and nothing else waiting: run the caller's continuation here (saves a thread-pool
                            // hop). Otherwise hand it to the pool and keep draining.
                            pending.SetResult(response, inline: _inlineCompletions && _responses.IsDrained);
                            break;
                        case StatusTooLarge:
                            pending.SetException(TooLarge("response"));
                            break;
                        default:
                            pending.SetException(new TransportUnavailableException("The enclave worker failed to handle the request."));
                            break;
                    }
                }
                else
                {
                    _responses.ReadBody(length, default, discard: true, _context); // cancelled or unknown: drop it
                    ReleaseSlot(lane);
                }
            }
        }
        catch (TransportUnavailableException)
        {
            // Failed or disposed: the failure already completed every caller.
        }
        catch (InvalidDataException)
        {
            Fail("the response ring is corrupt");
        }
#pragma warning disable CA1031 // The reader must never die silently: callers would wait forever.
        catch (Exception error)
#pragma warning restore CA1031
        {
            Fail($"the response reader failed ({error.GetType().Name})");
        }
    }

    /// <summary>Stops waits when the transport failed, and fails it when the worker closed the file or exited.</summary>
    private sealed class RouterWaitContext(RingFrameTransport transport) : RingWaitContext
    {
        public override void ThrowIfStopped()
        {
            var file = transport._file;
            if (transport._failure is null)
            {
                int pid = Volatile.Read(ref file.WorkerPid);
                if (Volatile.Read(ref file.WorkerClosed) != 0)
                {
                    transport.Fail("the worker closed the ring");
                }
                else if (pid != 0 && !Futex.ProcessExists(pid))
                {
                    transport.Fail("the worker process is gone");
                }
            }

            transport.ThrowIfFailed();
        }
    }
}
