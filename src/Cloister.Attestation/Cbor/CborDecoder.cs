using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Cloister.Attestation.Cbor;

/// <summary>Limits of one decode. Defaults fit attestation documents (a few KiB, shallow nesting).</summary>
/// <param name="MaxDepth">Deepest nesting of arrays, maps and tags; the top-level item is depth 1.</param>
/// <param name="MaxItems">Most data items in the whole input (bounds the work and the allocations).</param>
internal sealed record CborLimits(int MaxDepth = 16, int MaxItems = 100_000)
{
    public static CborLimits Default { get; } = new();
}

/// <summary>Why a decode failed: a stable code, a short detail and the offset where it was found.</summary>
internal sealed record CborError(string Code, string Detail, int Offset)
{
    public override string ToString() => $"{Code} at offset {Offset}: {Detail}";
}

/// <summary>
/// A strict, bounded decoder for the definite-length CBOR subset that attestation documents use
/// (RFC 8949 major types 0–7). Indefinite lengths, reserved additional information, invalid UTF-8,
/// duplicate map keys and trailing bytes are errors. Every length is checked against the remaining
/// input before anything is allocated, so a hostile header cannot make it allocate more than the input.
/// Failures are values, never exceptions.
/// </summary>
internal static class CborDecoder
{
    /// <summary>Decodes exactly one data item spanning all of <paramref name="input"/>.</summary>
    public static bool TryDecode(ReadOnlyMemory<byte> input, out CborValue? value, out CborError? error, CborLimits? limits = null)
    {
        var state = new State(input, limits ?? CborLimits.Default);
        value = state.Read(1);
        if (value is null)
        {
            error = state.Error;
            return false;
        }

        if (state.Position != input.Length)
        {
            value = null;
            error = new CborError("trailing-bytes", $"{input.Length - state.Position} bytes after the item", state.Position);
            return false;
        }

        error = null;
        return true;
    }

    private sealed class State(ReadOnlyMemory<byte> input, CborLimits limits)
    {
        private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
        private readonly ReadOnlyMemory<byte> _input = input;
        private readonly CborLimits _limits = limits;
        private int _items;

        public int Position { get; private set; }

        public CborError? Error { get; private set; }

        private int Remaining => _input.Length - Position;

        public CborValue? Read(int depth)
        {
            if (depth > _limits.MaxDepth)
            {
                return Fail("depth", $"nesting deeper than {_limits.MaxDepth}");
            }

            if (++_items > _limits.MaxItems)
            {
                return Fail("too-many-items", $"more than {_limits.MaxItems} items");
            }

            if (Remaining < 1)
            {
                return Fail("truncated", "expected a data item");
            }

            var start = Position;
            var initial = _input.Span[Position++];
            var major = initial >> 5;
            var info = initial & 0x1F;

            if (major == 7)
            {
                return ReadSimple(info, start);
            }

            if (info == 31)
            {
                return Fail("indefinite-length", "indefinite-length items are not accepted", start);
            }

            if (!TryReadArgument(info, start, out var argument))
            {
                return null;
            }

            switch (major)
            {
                case 0:
                    return CborValue.Integer(CborKind.UnsignedInteger, argument);
                case 1:
                    return CborValue.Integer(CborKind.NegativeInteger, argument);
                case 2:
                case 3:
                {
                    if (argument > (ulong)Remaining)
                    {
                        return Fail("length-beyond-input", $"string of {argument} bytes but {Remaining} remain", start);
                    }

                    var length = (int)argument;
                    var content = _input.Slice(Position, length);
                    Position += length;
                    if (major == 2)
                    {
                        return CborValue.ByteString(content);
                    }

                    if (!Utf8.IsValid(content.Span))
                    {
                        return Fail("invalid-utf8", "text string is not valid UTF-8", start);
                    }

                    return CborValue.TextString(StrictUtf8.GetString(content.Span));
                }

                case 4:
                {
                    // Every item takes at least one byte: a count above the remaining input is a lie, refuse it before allocating.
                    if (argument > (ulong)Remaining)
                    {
                        return Fail("length-beyond-input", $"array of {argument} items but {Remaining} bytes remain", start);
                    }

                    var items = new CborValue[(int)argument];
                    for (var i = 0; i < items.Length; i++)
                    {
                        var item = Read(depth + 1);
                        if (item is null)
                        {
                            return null;
                        }

                        items[i] = item;
                    }

                    return CborValue.Array(items);
                }

                case 5:
                {
                    if (argument > (ulong)Remaining / 2)
                    {
                        return Fail("length-beyond-input", $"map of {argument} entries but {Remaining} bytes remain", start);
                    }

                    var entries = new KeyValuePair<CborValue, CborValue>[(int)argument];
                    for (var i = 0; i < entries.Length; i++)
                    {
                        var keyStart = Position;
                        var key = Read(depth + 1);
                        if (key is null)
                        {
                            return null;
                        }

                        for (var j = 0; j < i; j++)
                        {
                            if (entries[j].Key.SameKey(key))
                            {
                                return Fail("duplicate-key", "map key appears twice", keyStart);
                            }
                        }

                        var entryValue = Read(depth + 1);
                        if (entryValue is null)
                        {
                            return null;
                        }

                        entries[i] = new KeyValuePair<CborValue, CborValue>(key, entryValue);
                    }

                    return CborValue.Map(entries);
                }

                default:
                {
                    var content = Read(depth + 1);
                    return content is null ? null : CborValue.Tagged(argument, content);
                }
            }
        }

        private CborValue? ReadSimple(int info, int start)
        {
            switch (info)
            {
                case 20:
                case 21:
                    return CborValue.Simple(CborKind.Boolean, (ulong)(info - 20));
                case 22:
                    return CborValue.Simple(CborKind.Null, 22);
                case 23:
                    return CborValue.Simple(CborKind.Undefined, 23);
                case < 20:
                    return CborValue.Simple(CborKind.Simple, (ulong)info);
                case 24:
                {
                    if (Remaining < 1)
                    {
                        return Fail("truncated", "simple value", start);
                    }

                    var simple = _input.Span[Position++];
                    if (simple < 32)
                    {
                        return Fail("non-canonical", "two-byte simple value below 32", start);
                    }

                    return CborValue.Simple(CborKind.Simple, simple);
                }

                case 25:
                {
                    if (Remaining < 2)
                    {
                        return Fail("truncated", "half float", start);
                    }

                    var half = BinaryPrimitives.ReadHalfBigEndian(_input.Span.Slice(Position, 2));
                    Position += 2;
                    return CborValue.FloatValue((double)half);
                }

                case 26:
                {
                    if (Remaining < 4)
                    {
                        return Fail("truncated", "single float", start);
                    }

                    var single = BinaryPrimitives.ReadSingleBigEndian(_input.Span.Slice(Position, 4));
                    Position += 4;
                    return CborValue.FloatValue(single);
                }

                case 27:
                {
                    if (Remaining < 8)
                    {
                        return Fail("truncated", "double float", start);
                    }

                    var number = BinaryPrimitives.ReadDoubleBigEndian(_input.Span.Slice(Position, 8));
                    Position += 8;
                    return CborValue.FloatValue(number);
                }

                case 31:
                    return Fail("indefinite-length", "unexpected break", start);
                default:
                    return Fail("reserved", $"reserved additional information {info}", start);
            }
        }

        private bool TryReadArgument(int info, int start, out ulong argument)
        {
            argument = 0;
            if (info < 24)
            {
                argument = (ulong)info;
                return true;
            }

            var size = info switch
            {
                24 => 1,
                25 => 2,
                26 => 4,
                27 => 8,
                _ => 0,
            };
            if (size == 0)
            {
                Fail("reserved", $"reserved additional information {info}", start);
                return false;
            }

            if (Remaining < size)
            {
                Fail("truncated", "argument", start);
                return false;
            }

            var span = _input.Span.Slice(Position, size);
            argument = size switch
            {
                1 => span[0],
                2 => BinaryPrimitives.ReadUInt16BigEndian(span),
                4 => BinaryPrimitives.ReadUInt32BigEndian(span),
                _ => BinaryPrimitives.ReadUInt64BigEndian(span),
            };
            Position += size;
            return true;
        }

        private CborValue? Fail(string code, string detail, int? offset = null)
        {
            Error ??= new CborError(code, detail, offset ?? Position);
            return null;
        }
    }
}
