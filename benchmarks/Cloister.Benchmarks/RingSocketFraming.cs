using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Cloister.Protocol;

namespace Cloister.Benchmarks;

// The socket baselines of the transport benchmark (docs/benchmarks.md, "Router <-> worker transport"): the same
// shape as the ring — frames of [request id:8][length:4][payload], writers take turns, one reader loop matches
// responses to callers, the server runs the handler on the thread pool and writes answers one at a time.

/// <summary>The router side of the socket baseline.</summary>
internal sealed class SocketFrameClient : IFrameTransport, IAsyncDisposable
{
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<byte[]>> _pending = new();
    private readonly Task _reader;
    private long _nextId;

    public SocketFrameClient(Socket socket)
    {
        if (socket.ProtocolType == ProtocolType.Tcp)
        {
            socket.NoDelay = true;
        }
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = Task.Run(ReadAsync);
    }

    public async ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        long id = Interlocked.Increment(ref _nextId);
        var pending = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = pending;
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await SocketFrames.WriteAsync(_stream, id, request, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }

        return await pending.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        try
        {
            await _reader;
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task ReadAsync()
    {
        var header = new byte[12];
        while (true)
        {
            await _stream.ReadExactlyAsync(header);
            long id = BinaryPrimitives.ReadInt64LittleEndian(header);
            var response = new byte[BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8))];
            await _stream.ReadExactlyAsync(response);
            if (_pending.TryRemove(id, out var pending))
            {
                pending.SetResult(response);
            }
        }
    }
}

/// <summary>The worker side of the socket baseline: serves one connection.</summary>
internal static class SocketFrameServer
{
    public static async Task ServeAsync(Socket socket, IFrameHandler handler)
    {
        if (socket.ProtocolType == ProtocolType.Tcp)
        {
            socket.NoDelay = true;
        }
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var writeLock = new SemaphoreSlim(1, 1);
        var header = new byte[12];
        try
        {
            while (true)
            {
                await stream.ReadExactlyAsync(header);
                long id = BinaryPrimitives.ReadInt64LittleEndian(header);
                int length = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
                byte[] request = ArrayPool<byte>.Shared.Rent(length);
                await stream.ReadExactlyAsync(request.AsMemory(0, length));
                ThreadPool.UnsafeQueueUserWorkItem(
                    static async state =>
                    {
                        var (stream, writeLock, handler, id, request, length) = state;
                        byte[] response = await handler.HandleAsync(request.AsMemory(0, length), CancellationToken.None);
                        ArrayPool<byte>.Shared.Return(request);
                        await writeLock.WaitAsync();
                        try
                        {
                            await SocketFrames.WriteAsync(stream, id, response, CancellationToken.None);
                        }
                        finally
                        {
                            writeLock.Release();
                        }
                    },
                    (stream, writeLock, handler, id, request, length),
                    preferLocal: false);
            }
        }
        catch (EndOfStreamException)
        {
            // The client closed the connection: done.
        }
    }
}

internal static class SocketFrames
{
    public static async ValueTask WriteAsync(Stream stream, long id, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        // Header and payload in one write (one syscall) when small, as a tuned framing would.
        int total = 12 + payload.Length;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(total);
        BinaryPrimitives.WriteInt64LittleEndian(buffer, id);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(8), payload.Length);
        payload.Span.CopyTo(buffer.AsSpan(12));
        await stream.WriteAsync(buffer.AsMemory(0, total), cancellationToken);
        ArrayPool<byte>.Shared.Return(buffer);
    }
}

/// <summary>The handler every transport in the benchmark serves: answers a copy of the request.</summary>
internal sealed class EchoHandler : IFrameHandler
{
    public ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        => ValueTask.FromResult(request.ToArray());
}
