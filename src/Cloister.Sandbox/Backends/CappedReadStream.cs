namespace Cloister.Sandbox.Backends;

/// <summary>The output allowance shared by stdout (as it is read) and stderr (as it is written).</summary>
internal sealed class OutputBudget(long cap)
{
    private long _used;

    public long Remaining => Math.Max(0, cap - Interlocked.Read(ref _used));

    /// <summary>Counts <paramref name="bytes"/>; false once the total is over the cap.</summary>
    public bool Consume(long bytes) => Interlocked.Add(ref _used, bytes) <= cap;

    /// <summary>Starts counting afresh (a new invocation of a warm sandbox).</summary>
    public void Reset() => Interlocked.Exchange(ref _used, 0);
}

/// <summary>
/// A read-only view of the sandbox's stdout that lets through only what is left of the
/// <see cref="OutputBudget"/>. When the program writes more, the stream ends and
/// <c>onCapExceeded</c> runs once (it kills the sandbox).
/// </summary>
/// <remarks>Does not own the inner stream; <see cref="SandboxProcess"/> does.</remarks>
internal sealed class CappedReadStream(Stream inner, OutputBudget budget, Action onCapExceeded) : Stream
{
    private long _read;
    private bool _ended;

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
        if (_ended || buffer.IsEmpty)
        {
            return 0;
        }

        var remaining = budget.Remaining;
        if (remaining == 0)
        {
            // One probe byte tells a clean end of stream from a program that writes past the cap.
            Span<byte> probe = stackalloc byte[1];
            return Exceeded(inner.Read(probe));
        }

        return Counted(inner.Read(buffer[..(int)Math.Min(buffer.Length, remaining)]));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_ended || buffer.IsEmpty)
        {
            return 0;
        }

        var remaining = budget.Remaining;
        if (remaining == 0)
        {
            var probe = new byte[1];
            return Exceeded(await inner.ReadAsync(probe, cancellationToken).ConfigureAwait(false));
        }

        return Counted(await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, remaining)], cancellationToken).ConfigureAwait(false));
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Counted(int n)
    {
        _read += n;
        if (!budget.Consume(n))
        {
            // stderr used the budget up while this read was in flight: hand out nothing past the cap.
            return Exceeded(1);
        }

        return n;
    }

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
