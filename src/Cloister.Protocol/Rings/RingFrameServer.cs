using System.Buffers;
using System.Collections.Concurrent;

namespace Cloister.Protocol.Rings;

/// <summary>The worker's side: opens the file the router created and serves requests with a handler.</summary>
/// <remarks>
/// <see cref="RunAsync"/> starts one dedicated background thread that reads the request ring (spinning for
/// <see cref="RingOptions.SpinMicroseconds"/> after each message, then sleeping on the futex). A request with no other
/// behind it runs on that thread until the handler's first real await (a synchronous handler therefore delays the
/// next request by its own duration); requests that queue up go to the thread pool. Each request travels in a lane
/// (<see cref="FrameLane"/>, in its header): at most <see cref="RingOptions.MaxConcurrency"/> request frames and
/// <see cref="RingOptions.MaxInvocations"/> invocation frames run at once (the router keeps within both, so the reader
/// never waits for a slot); a health ping takes no slot and is answered on the reader at once. Responses are written
/// one at a time; one larger than <see cref="RingOptions.MaxMessageBytes"/> fails its own request. The request memory
/// passed to the handler is pooled and wiped after use: it is valid only until the handler's task completes. Serving
/// ends when the token is cancelled, the server is disposed, or the router closed the file or exited.
/// </remarks>
public sealed class RingFrameServer : IAsyncDisposable
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    // Frames up to this size may run on the reader thread (a single value's request is a few hundred bytes).
    private const int InlineMaxBytes = 64 * 1024;

    private readonly RingFile _file;
    private readonly SpscRing _requests;
    private readonly SpscRing _responses;
    private readonly Lock _writeLock = new();
    private readonly SemaphoreSlim _requestSlots;
    private readonly SemaphoreSlim _invocationSlots;
    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;
    private int _started;
    private int _disposed;
    private bool _unmapped;

    private RingFrameServer(RingFile file)
    {
        _file = file;
        _requests = file.RequestRing();
        _responses = file.ResponseRing();
        _requestSlots = new SemaphoreSlim(file.Options.MaxConcurrency, file.Options.MaxConcurrency);
        _invocationSlots = new SemaphoreSlim(file.Options.MaxInvocations, file.Options.MaxInvocations);
    }

    /// <summary>How often the request reader slept on the futex (tests and diagnostics).</summary>
    internal long RequestReaderSleeps => _requests.Sleeps;

    /// <summary>Open the shared memory file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a ring file of this version, or its header is inconsistent.</exception>
    /// <exception cref="InvalidOperationException">Another worker already opened it, or the router closed it.</exception>
    public static RingFrameServer Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!Futex.IsSupported)
        {
            throw new PlatformNotSupportedException("The shared memory rings need Linux on x64 or arm64.");
        }

        var file = RingFile.Open(path);
        if (Interlocked.CompareExchange(ref file.WorkerPid, Environment.ProcessId, 0) != 0 || Volatile.Read(ref file.RouterClosed) != 0)
        {
            file.Dispose();
            throw new InvalidOperationException("The ring file is already served by another worker or closed by the router.");
        }

        return new RingFrameServer(file);
    }

    /// <summary>Read requests and answer each with <paramref name="handler"/> (concurrently) until cancelled.</summary>
    /// <returns>
    /// A task that completes when serving stopped (cancelled, disposed, or the router went away) and the requests in
    /// flight were answered; it faults with <see cref="InvalidDataException"/> when the request ring is corrupt (or with
    /// the error of a failed futex call).
    /// </returns>
    public Task RunAsync(IFrameHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("RunAsync was already called.");
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var reader = new Thread(() => Serve(handler, stop, done)) { IsBackground = true, Name = "cloister-ring-requests" };
        _run = done.Task;
        reader.Start();
        return done.Task;
    }

    /// <summary>Stops serving, marks the file closed (the router fails its pending requests) and unmaps it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _file.WakeAll();
        try
        {
            await _run.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Already reported by RunAsync's task.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        lock (_writeLock)
        {
            Volatile.Write(ref _file.WorkerClosed, 1);
            _file.WakeAll();
            _unmapped = true;
            _file.Dispose();
        }

        _stop.Dispose();
    }

    private void Serve(IFrameHandler handler, CancellationTokenSource stop, TaskCompletionSource done)
    {
        var context = new WorkerWaitContext(this, stop.Token);
        Exception? failure = null;
        try
        {
            while (true)
            {
                var (id, length, status) = _requests.ReadHeader(context);
                if (status is < 0 or > (int)FrameLane.Control)
                {
                    throw new InvalidDataException("A ring request names no known lane.");
                }

                // Take a slot of the request's lane before reading its body. The router never has more frames of a lane
                // in the worker than the lane holds, so this does not wait; if it ever did, the request would stay in the
                // ring (backpressure). A health ping takes none: it is answered however busy the other lanes are.
                var lane = (FrameLane)status;
                var slots = SlotsOf(lane);
                if (slots is not null)
                {
                    while (!slots.Wait(100))
                    {
                        context.ThrowIfStopped();
                    }
                }

                try
                {
                    byte[] request = ArrayPool<byte>.Shared.Rent(length);
                    _requests.ReadBody(length, request.AsSpan(0, length), discard: false, context);
                    if (lane == FrameLane.Control || (_requests.IsDrained && length <= InlineMaxBytes))
                    {
                        // Nothing else waiting (or a ping, answered without an await): handle a small request on this thread
                        // (until the handler's first real await), saving a thread-pool hop; under load, and always for a
                        // large frame (whose decoding alone takes a while), requests go to the pool, so that the reader
                        // goes on reading others' requests and pings.
                        _ = HandleAsync(handler, id, request, length, slots, context);
                    }
                    else
                    {
                        ThreadPool.UnsafeQueueUserWorkItem(RequestWork.Rent(this, handler, id, request, length, slots, context), preferLocal: false);
                    }
                }
                catch
                {
                    slots?.Release();
                    throw;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
#pragma warning disable CA1031 // A corrupt ring or a failed futex call faults RunAsync's task instead of the process.
        catch (Exception error)
#pragma warning restore CA1031
        {
            failure = error;
        }

        // Let the requests in flight answer (their token is cancelled), bounded so a stuck handler cannot block exit.
        var deadline = DateTime.UtcNow + DrainTimeout;
        foreach (var (slots, count) in new[] { (_requestSlots, _file.Options.MaxConcurrency), (_invocationSlots, _file.Options.MaxInvocations) })
        {
            for (int i = 0; i < count && DateTime.UtcNow < deadline; i++)
            {
                slots.Wait(deadline - DateTime.UtcNow);
            }
        }

        stop.Dispose();
        if (failure is null)
        {
            done.TrySetResult();
        }
        else
        {
            done.TrySetException(failure);
        }
    }

    private SemaphoreSlim? SlotsOf(FrameLane lane) => lane switch
    {
        FrameLane.Request => _requestSlots,
        FrameLane.Invocation => _invocationSlots,
        _ => null,
    };

    /// <summary>Run the handler for one request and write its response; the request buffer is wiped and goes back to the pool.</summary>
    private async Task HandleAsync(IFrameHandler handler, long id, byte[] request, int length, SemaphoreSlim? slots, WorkerWaitContext context)
    {
        byte[]? response = null;
        try
        {
            response = await handler.HandleAsync(request.AsMemory(0, length), context.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.Token.IsCancellationRequested)
        {
            // Stopping: no answer; the router fails the request when it sees the file closed. (finally returns the buffer)
            slots?.Release();
            return;
        }
#pragma warning disable CA1031 // Any handler failure becomes a failed response; the router surfaces it as unavailable.
        catch (Exception)
#pragma warning restore CA1031
        {
            response = null;
        }
        finally
        {
            // The request may hold plaintext (an unsealed value, a revealed record's answer): never hand it on in the pool.
            request.AsSpan(0, length).Clear();
            ArrayPool<byte>.Shared.Return(request);
        }

        try
        {
            lock (_writeLock)
            {
                if (!_unmapped)
                {
                    // A response the router would refuse fails its own request only (status, no payload), never the ring.
                    var (status, payload) = response is null ? (RingFrameTransport.StatusHandlerFailed, null)
                        : response.Length > _file.Options.MaxMessageBytes ? (RingFrameTransport.StatusTooLarge, null)
                        : (RingFrameTransport.StatusOk, response);
                    _responses.Write(id, status, payload, context);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping while the response ring was full: the router is going away or will fail the request.
        }
        finally
        {
            slots?.Release();
        }
    }

    /// <summary>Ends waits when serving stops, or the router closed the file or exited.</summary>
    private sealed class WorkerWaitContext(RingFrameServer server, CancellationToken token) : RingWaitContext
    {
        public CancellationToken Token => token;

        public override void ThrowIfStopped()
        {
            var file = server._file;
            if (Volatile.Read(ref file.RouterClosed) != 0 || !Futex.ProcessExists(Volatile.Read(ref file.RouterPid)))
            {
                server._stop.Cancel();
            }

            token.ThrowIfCancellationRequested();
        }
    }

    /// <summary>A pooled thread-pool work item, so dispatching a request allocates nothing.</summary>
    private sealed class RequestWork : IThreadPoolWorkItem
    {
        private static readonly ConcurrentQueue<RequestWork> Pool = new();

        private RingFrameServer? _server;
        private IFrameHandler? _handler;
        private WorkerWaitContext? _context;
        private byte[]? _request;
        private SemaphoreSlim? _slots;
        private long _id;
        private int _length;

        public static RequestWork Rent(RingFrameServer server, IFrameHandler handler, long id, byte[] request, int length, SemaphoreSlim? slots, WorkerWaitContext context)
        {
            if (!Pool.TryDequeue(out var work))
            {
                work = new RequestWork();
            }

            (work._server, work._handler, work._id, work._request, work._length, work._slots, work._context) = (server, handler, id, request, length, slots, context);
            return work;
        }

        public void Execute()
        {
            var (server, handler, id, request, length, slots, context) = (_server!, _handler!, _id, _request!, _length, _slots, _context!);
            (_server, _handler, _request, _slots, _context) = (null, null, null, null, null);
            Pool.Enqueue(this); // bounded by the lanes' slots: at most that many are ever out
            _ = server.HandleAsync(handler, id, request, length, slots, context);
        }
    }
}
