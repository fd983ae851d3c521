using System.Buffers;
using System.Security.Cryptography;

namespace Cloister.Server.Http;

/// <summary>
/// A request body read whole into pooled chunks, exposed as one <see cref="ReadOnlySequence{T}"/>.
/// </summary>
/// <remarks>
/// Chunks rather than one growing array: memory follows the bytes that actually arrived (a declared Content-Length is not
/// trusted to size anything), nothing is copied on growth, and a maximal batch (about 130 MiB) never asks for one huge array.
/// The chunks may hold values in the clear, so <see cref="Dispose"/> zeroes what was written before returning them.
/// </remarks>
internal sealed class PooledBody : IDisposable
{
    // Chunks double from 16 KiB (a typical body fits the first) to 1 MiB (the largest size the shared pool keeps), so a
    // maximal batch is about 130 chunks and few values straddle two of them (a straddling token is copied to be read).
    private const int FirstChunk = 16 * 1024;
    private const int LargestChunk = 1024 * 1024;

    private readonly List<byte[]> _chunks = [];
    private int _lastLength;

    private PooledBody()
    {
    }

    /// <summary>Reads <paramref name="body"/> to its end (the server's body-size limit applies as it reads).</summary>
    public static async Task<PooledBody> ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        var pooled = new PooledBody();
        try
        {
            while (true)
            {
                if (pooled._chunks.Count == 0 || pooled._lastLength == pooled._chunks[^1].Length)
                {
                    var size = pooled._chunks.Count == 0 ? FirstChunk : Math.Min(2 * pooled._chunks[^1].Length, LargestChunk);
                    pooled._chunks.Add(ArrayPool<byte>.Shared.Rent(size));
                    pooled._lastLength = 0;
                }

                var chunk = pooled._chunks[^1];
                var read = await body.ReadAsync(chunk.AsMemory(pooled._lastLength), cancellationToken);
                if (read == 0)
                {
                    return pooled;
                }

                pooled._lastLength += read;
            }
        }
        catch
        {
            pooled.Dispose();
            throw;
        }
    }

    /// <summary>The bytes read, in order.</summary>
    public ReadOnlySequence<byte> ToSequence()
    {
        if (_chunks.Count <= 1)
        {
            return _chunks.Count == 0 ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_chunks[0], 0, _lastLength);
        }

        var first = new Segment(_chunks[0], 0);
        var last = first;
        for (var i = 1; i < _chunks.Count; i++)
        {
            last = last.Append(_chunks[i].AsMemory(0, i == _chunks.Count - 1 ? _lastLength : _chunks[i].Length));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    public void Dispose()
    {
        for (var i = 0; i < _chunks.Count; i++)
        {
            CryptographicOperations.ZeroMemory(_chunks[i].AsSpan(0, i == _chunks.Count - 1 ? _lastLength : _chunks[i].Length));
            ArrayPool<byte>.Shared.Return(_chunks[i]);
        }

        _chunks.Clear();
        _lastLength = 0;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
