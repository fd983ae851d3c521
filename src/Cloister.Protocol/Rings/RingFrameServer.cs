using System.Buffers;
using System.Collections.Concurrent;

namespace Cloister.Protocol.Rings;

/// <summary>The worker's side: opens the file the router created and serves requests with a handler.</summary>
/// <remarks>
/// <see cref="RunAsync"/> starts one dedicated background thread that reads the request ring (spinning for
/// <see cref="RingOptions.SpinMicroseconds"/> after each message, then sleeping on the futex) and hands each request
/// to the thread pool, at most <see cref="RingOptions.MaxConcurrency"/> at once; past that the reader stops reading
/// and the router's writers wait on a full ring. Responses are written one at a time. The request memory passed
/// to the handler is pooled: it is valid only until the handler's task completes. Serving ends when the token is
/// cancelled, the server is disposed, or the router closed the file or exited.
/// </remarks>
public sealed class RingFrameServer : IAsyncDisposable
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private readonly RingFile _file;
    private readonly SpscRing _requests;
    private readonly SpscRing _responses;
    private readonly Lock _writeLock = new();
    private readonly SemaphoreSlim _slots;
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
        _slots = new SemaphoreSlim(file.Options.MaxConcurrency, file.Options.MaxConcurrency);
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
    /// flight were answered; it faults with <see cref="InvalidDataException"/> when the request ring is corrupt.
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
        catch (InvalidDataException)
        {
            // Already reported by RunAsync's task.
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
                // Take a concurrency slot before reading: a saturated worker leaves requests in the ring (backpressure).
                while (!_slots.Wait(100))
                {
                    context.ThrowIfStopped();
                }

                try
                {
                    var (id, length, _) = _requests.ReadHeader(context);
                    byte[] request = ArrayPool<byte>.Shared.Rent(length);
                    _requests.ReadBody(length, request.AsSpan(0, length), discard: false, context);
                    ThreadPool.UnsafeQueueUserWorkItem(RequestWork.Rent(this, handler, id, request, length, context), preferLocal: false);
                }
                catch
                {
                    _slots.Release();
                    throw;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
        catch (InvalidDataException error)
        {
            failure = error;
        }

        // Let the requests in flight answer (their token is cancelled), bounded so a stuck handler cannot block exit.
        var deadline = DateTime.UtcNow + DrainTimeout;
        for (int i = 0; i < _file.Options.MaxConcurrency && DateTime.UtcNow < deadline; i++)
        {
            _slots.Wait(deadline - DateTime.UtcNow);
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

    /// <summary>Run the handler for one request and write its response; the request buffer goes back to the pool.</summary>
    private async Task HandleAsync(IFrameHandler handler, long id, byte[] request, int length, WorkerWaitContext context)
    {
        byte[]? response = null;
        try
        {
            response = await handler.HandleAsync(request.AsMemory(0, length), context.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.Token.IsCancellationRequested)
        {
            // Stopping: no answer; the router fails the request when it sees the file closed. (finally returns the buffer)
            _slots.Release();
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
            ArrayPool<byte>.Shared.Return(request);
        }

        try
        {
            lock (_writeLock)
            {
                if (!_unmapped)
                {
                    int status = response is null ? RingFrameTransport.StatusHandlerFailed : 0;
                    _responses.Write(id, status, response, context);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping while the response ring was full: the router is going away or will fail the request.
        }
        finally
        {
            _slots.Release();
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
        private long _id;
        private int _length;

        public static RequestWork Rent(RingFrameServer server, IFrameHandler handler, long id, byte[] request, int length, WorkerWaitContext context)
        {
            if (!Pool.TryDequeue(out var work))
            {
                work = new RequestWork();
            }

            (work._server, work._handler, work._id, work._request, work._length, work._context) = (server, handler, id, request, length, context);
            return work;
        }

        public void Execute()
        {
            var (server, handler, id, request, length, context) = (_server!, _handler!, _id, _request!, _length, _context!);
            (_server, _handler, _request, _context) = (null, null, null, null);
            Pool.Enqueue(this); // bounded by MaxConcurrency: at most that many are ever out
            _ = server.HandleAsync(handler, id, request, length, context);
        }
    }
}
