namespace Cloister.Attestation.Cbor;

/// <summary>CBOR major types (RFC 8949 §3.1), with major type 7 split into its useful kinds.</summary>
internal enum CborKind
{
    UnsignedInteger,
    NegativeInteger,
    ByteString,
    TextString,
    Array,
    Map,
    Tag,
    Boolean,
    Null,
    Undefined,
    Simple,
    Float,
}

/// <summary>
/// One decoded CBOR data item. Byte strings are slices of the decoded input (no copy), so a value
/// must not outlive the buffer it was decoded from.
/// </summary>
internal sealed class CborValue
{
    private static readonly CborValue[] NoItems = [];
    private static readonly KeyValuePair<CborValue, CborValue>[] NoEntries = [];

    private CborValue(CborKind kind)
    {
        Kind = kind;
    }

    public CborKind Kind { get; private init; }

    /// <summary>The argument: the unsigned value, n of a negative integer (value = -1 - n), the tag number or the simple value.</summary>
    public ulong Argument { get; private init; }

    /// <summary>The content of a byte string (a slice of the input).</summary>
    public ReadOnlyMemory<byte> Bytes { get; private init; }

    /// <summary>The content of a text string.</summary>
    public string Text { get; private init; } = string.Empty;

    /// <summary>The value of a float (half, single or double).</summary>
    public double Float { get; private init; }

    /// <summary>Array items, or the tagged item as the single element of a tag.</summary>
    public IReadOnlyList<CborValue> Items { get; private init; } = NoItems;

    /// <summary>Map entries in encoded order (keys are unique).</summary>
    public IReadOnlyList<KeyValuePair<CborValue, CborValue>> Entries { get; private init; } = NoEntries;

    /// <summary>The tagged item of a tag.</summary>
    public CborValue? Content => Kind == CborKind.Tag && Items.Count == 1 ? Items[0] : null;

    /// <summary>The integer value when it fits in a <see cref="long"/>.</summary>
    public bool TryGetInt64(out long value)
    {
        value = 0;
        if (Kind == CborKind.UnsignedInteger && Argument <= long.MaxValue)
        {
            value = (long)Argument;
            return true;
        }

        if (Kind == CborKind.NegativeInteger && Argument <= long.MaxValue)
        {
            value = -1 - (long)Argument;
            return true;
        }

        return false;
    }

    /// <summary>The value of <paramref name="key"/> in a map with text keys, or null.</summary>
    public CborValue? Get(string key)
    {
        foreach (var entry in Entries)
        {
            if (entry.Key.Kind == CborKind.TextString && string.Equals(entry.Key.Text, key, StringComparison.Ordinal))
            {
                return entry.Value;
            }
        }

        return null;
    }

    /// <summary>The value of integer <paramref name="key"/> in a map, or null.</summary>
    public CborValue? Get(long key)
    {
        foreach (var entry in Entries)
        {
            if (entry.Key.TryGetInt64(out var k) && k == key)
            {
                return entry.Value;
            }
        }

        return null;
    }

    internal static CborValue Integer(CborKind kind, ulong argument) => new(kind) { Argument = argument };

    internal static CborValue ByteString(ReadOnlyMemory<byte> bytes) => new(CborKind.ByteString) { Bytes = bytes };

    internal static CborValue TextString(string text) => new(CborKind.TextString) { Text = text };

    internal static CborValue Array(CborValue[] items) => new(CborKind.Array) { Items = items };

    internal static CborValue Map(KeyValuePair<CborValue, CborValue>[] entries) => new(CborKind.Map) { Entries = entries };

    internal static CborValue Tagged(ulong tag, CborValue content) => new(CborKind.Tag) { Argument = tag, Items = [content] };

    internal static CborValue Simple(CborKind kind, ulong argument) => new(kind) { Argument = argument };

    internal static CborValue FloatValue(double value) => new(CborKind.Float) { Float = value };

    /// <summary>Structural equality used for duplicate map keys (integers, strings and simple values).</summary>
    internal bool SameKey(CborValue other)
    {
        if (Kind != other.Kind)
        {
            return false;
        }

        return Kind switch
        {
            CborKind.UnsignedInteger or CborKind.NegativeInteger or CborKind.Boolean or CborKind.Null or CborKind.Undefined or CborKind.Simple => Argument == other.Argument,
            CborKind.TextString => string.Equals(Text, other.Text, StringComparison.Ordinal),
            CborKind.ByteString => Bytes.Span.SequenceEqual(other.Bytes.Span),
            CborKind.Float => Float.Equals(other.Float),
            _ => ReferenceEquals(this, other),
        };
    }
}
