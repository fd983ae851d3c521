using System.Buffers.Binary;
using System.Text;

namespace Cloister.Enclave;

/// <summary>
/// Writes fields as <c>lp(x)</c> = 4-byte big-endian length ‖ x, the encoding of every MAC input and
/// associated data in the enclave. Length prefixes make concatenation injective, so
/// ("ab", "c") and ("a", "bc") never produce the same bytes.
/// </summary>
internal ref struct LengthPrefixedWriter
{
    /// <summary>Encoded size of an <see cref="int"/> field (prefix and 4-byte big-endian value).</summary>
    public const int Int32Size = 8;

    private readonly Span<byte> _buffer;
    private int _written;

    public LengthPrefixedWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _written = 0;
    }

    /// <summary>The bytes written so far.</summary>
    public readonly ReadOnlySpan<byte> Written => _buffer[.._written];

    /// <summary>Encoded size of a string field (UTF-8).</summary>
    public static int SizeOf(string field) => 4 + Encoding.UTF8.GetByteCount(field);

    /// <summary>Encoded size of a byte field.</summary>
    public static int SizeOf(ReadOnlySpan<byte> field) => 4 + field.Length;

    public void Write(ReadOnlySpan<byte> field)
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer[_written..], field.Length);
        field.CopyTo(_buffer[(_written + 4)..]);
        _written += 4 + field.Length;
    }

    public void Write(string field)
    {
        var length = Encoding.UTF8.GetBytes(field, _buffer[(_written + 4)..]);
        BinaryPrimitives.WriteInt32BigEndian(_buffer[_written..], length);
        _written += 4 + length;
    }

    public void Write(int field)
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer[_written..], sizeof(int));
        BinaryPrimitives.WriteInt32BigEndian(_buffer[(_written + 4)..], field);
        _written += Int32Size;
    }
}
