namespace Cloister.Functions;

/// <summary>
/// A read-only view of a decompressed tar stream that (1) ends after a byte budget, so a gzip bomb costs at most
/// the budget to refuse, and (2) follows the tar structure and ends before handing over a metadata header (pax
/// 'x'/'g', GNU 'L'/'K') that declares more than <see cref="MaxMetadataEntryBytes"/>:
/// <see cref="System.Formats.Tar.TarReader"/> allocates a metadata entry's declared size before reading it, without
/// checking the header checksum first (measured: one 512-byte header declaring 1 GiB made it allocate 1 GiB), so
/// such a header must never reach it. Refusals are recorded in properties, not thrown.
/// </summary>
/// <remarks>
/// To stay in step with the reader, this walker reads pax "size" overrides, and refuses what it cannot follow
/// unambiguously: a size field that is not octal or base-256, a malformed pax record, and data attached to an entry
/// type that carries none (directories, links, devices). Such archives are refused anyway further on.
/// </remarks>
internal sealed class BoundedReadStream(Stream inner, long budget) : Stream
{
    /// <summary>Largest pax or GNU long-name entry let through; real ones are a few hundred bytes.</summary>
    public const int MaxMetadataEntryBytes = 256 * 1024;

    private const int BlockSize = 512;

    private readonly byte[] _block = new byte[BlockSize];
    private int _blockFill;
    private long _read;

    // Walker state: bytes of the current entry's data (and padding) still to pass, and a pax header being collected.
    private long _dataLeft;
    private long _paddingLeft;
    private MemoryStream? _pax;
    private long? _sizeOverride;

    /// <summary>Whether a read asked for more than the budget while data remained.</summary>
    public bool Exceeded { get; private set; }

    /// <summary>Whether a metadata header declaring more than <see cref="MaxMetadataEntryBytes"/> was withheld.</summary>
    public bool OversizedMetadata { get; private set; }

    /// <summary>Whether the stream was ended at a header or pax record the walker could not follow.</summary>
    public bool Unfollowable { get; private set; }

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
        if (buffer.IsEmpty || OversizedMetadata || Unfollowable)
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
        if (!Walk(buffer[..n]))
        {
            return 0;
        }

        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private bool Walk(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_dataLeft > 0)
            {
                var take = (int)Math.Min(_dataLeft, data.Length);
                _pax?.Write(data[..take]);
                _dataLeft -= take;
                data = data[take..];
                if (_dataLeft == 0 && _pax is not null)
                {
                    if (!TryReadPaxSize(_pax.GetBuffer().AsSpan(0, (int)_pax.Length), out var size))
                    {
                        Unfollowable = true;
                        return false;
                    }

                    _sizeOverride = size ?? _sizeOverride;
                    _pax = null;
                }

                continue;
            }

            if (_paddingLeft > 0)
            {
                var skip = (int)Math.Min(_paddingLeft, data.Length);
                _paddingLeft -= skip;
                data = data[skip..];
                continue;
            }

            var fill = Math.Min(BlockSize - _blockFill, data.Length);
            data[..fill].CopyTo(_block.AsSpan(_blockFill));
            _blockFill += fill;
            data = data[fill..];
            if (_blockFill == BlockSize)
            {
                _blockFill = 0;
                if (!OnHeader(_block))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private bool OnHeader(ReadOnlySpan<byte> block)
    {
        const int SizeOffset = 124;
        const int TypeOffset = 156;
        if (!block.ContainsAnyExcept((byte)0))
        {
            // End-of-archive marker: the reader stops here.
            return true;
        }

        if (!TryParseSize(block.Slice(SizeOffset, 12), out var size))
        {
            Unfollowable = true;
            return false;
        }

        var type = block[TypeOffset];
        var metadata = type is (byte)'x' or (byte)'g' or (byte)'L' or (byte)'K';
        if (metadata)
        {
            if (size > MaxMetadataEntryBytes)
            {
                OversizedMetadata = true;
                return false;
            }

            _pax = type == (byte)'x' ? new MemoryStream((int)size) : null;
        }
        else
        {
            size = _sizeOverride ?? size;
            _sizeOverride = null;
            if (size > 0 && type is not ((byte)'0' or 0 or (byte)'7'))
            {
                // Data on a directory, link or device: readers disagree on whether it is skipped.
                Unfollowable = true;
                return false;
            }
        }

        _dataLeft = size;
        _paddingLeft = (BlockSize - (size % BlockSize)) % BlockSize;
        if (size == 0 && _pax is not null)
        {
            _pax = null;
        }

        return true;
    }

    /// <summary>Finds a "size" record in pax extended-header data ("LEN key=value\n" records).</summary>
    private static bool TryReadPaxSize(ReadOnlySpan<byte> data, out long? size)
    {
        size = null;
        while (!data.IsEmpty)
        {
            var space = data.IndexOf((byte)' ');
            if (space <= 0 || !long.TryParse(data[..space], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length)
                || length <= space + 1 || length > data.Length || data[(int)length - 1] != (byte)'\n')
            {
                return false;
            }

            var record = data[(space + 1)..((int)length - 1)];
            if (record.StartsWith("size="u8))
            {
                if (!long.TryParse(record[5..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
                {
                    return false;
                }

                size = value;
            }

            data = data[(int)length..];
        }

        return true;
    }

    private static bool TryParseSize(ReadOnlySpan<byte> field, out long value)
    {
        if ((field[0] & 0x80) != 0)
        {
            // Base-256 (GNU): big-endian in the remaining bytes; negative (0xFF) is invalid.
            value = 0;
            if (field[0] != 0x80)
            {
                return false;
            }

            foreach (var b in field[1..])
            {
                if (value > (long.MaxValue >> 8))
                {
                    return false;
                }

                value = (value << 8) | b;
            }

            return true;
        }

        if (!field.ContainsAnyExcept((byte)0, (byte)' '))
        {
            value = 0;
            return true;
        }

        return TryParseOctal(field, out value);
    }

    private static bool TryParseOctal(ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        var i = 0;
        while (i < field.Length && field[i] is (byte)' ' or 0)
        {
            i++;
        }

        var digits = 0;
        for (; i < field.Length && field[i] is >= (byte)'0' and <= (byte)'7'; i++)
        {
            if (++digits > 21)
            {
                return false;
            }

            value = (value * 8) + (field[i] - '0');
        }

        while (i < field.Length && field[i] is (byte)' ' or 0)
        {
            i++;
        }

        return digits > 0 && i == field.Length;
    }
}
