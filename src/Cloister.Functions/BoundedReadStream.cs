namespace Cloister.Functions;

/// <summary>
/// A read-only view of a stream that ends (reads 0) after a byte budget and records that it did, so a gzip bomb
/// costs at most the budget to refuse, and the refusal is a value, not an exception.
/// </summary>
internal sealed class BoundedReadStream(Stream inner, long budget) : Stream
{
    private long _read;

    /// <summary>Whether a read asked for more than the budget while data remained.</summary>
    public bool Exceeded { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        var remaining = budget - _read;
        if (remaining <= 0)
        {
            // Probe one byte: reaching the budget exactly at the end of the data is not an excess.
            Span<byte> probe = stackalloc byte[1];
            if (inner.Read(probe) > 0)
            {
                Exceeded = true;
            }

            return 0;
        }

        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, remaining)]);
        _read += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
