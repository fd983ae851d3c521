namespace Cloister.Sandbox.Backends;

/// <summary>
/// A read-only view of the sandbox's stdout that lets at most <c>cap</c> bytes through. When the
/// program writes more, the stream ends and <c>onCapExceeded</c> runs once (it kills the sandbox).
/// </summary>
/// <remarks>Does not own the inner stream; <see cref="SandboxProcess"/> does.</remarks>
internal sealed class CappedReadStream(Stream inner, long cap, Action onCapExceeded) : Stream
{
    private readonly long _cap = cap;
    private long _remaining = cap;
    private bool _ended;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _cap - _remaining;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_ended || buffer.IsEmpty)
        {
            return 0;
        }

        if (_remaining == 0)
        {
            // One probe byte tells a clean end of stream from a program that writes past the cap.
            Span<byte> probe = stackalloc byte[1];
            return Exceeded(inner.Read(probe));
        }

        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        _remaining -= n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_ended || buffer.IsEmpty)
        {
            return 0;
        }

        if (_remaining == 0)
        {
            var probe = new byte[1];
            return Exceeded(await inner.ReadAsync(probe, cancellationToken).ConfigureAwait(false));
        }

        var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
        _remaining -= n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Exceeded(int probed)
    {
        _ended = true;
        if (probed > 0)
        {
            onCapExceeded();
        }

        return 0;
    }
}
