using System.Diagnostics.CodeAnalysis;
using System.Formats.Cbor;

namespace Cloister.Attestation.Cbor;

/// <summary>
/// The strictness attestation documents are read with: System.Formats.Cbor's <see cref="CborConformanceMode.Strict"/>
/// (well-formed, shortest simple values, valid UTF-8, no duplicate map keys) plus what that mode still admits and we do
/// not: indefinite-length items, nesting deeper than <see cref="MaxDepth"/>, and bytes after the item.
/// </summary>
/// <remarks>
/// Strict, not Canonical: an AWS Nitro payload map is not in canonical key order (module_id, digest, timestamp, …), so
/// the canonical modes refuse every real document. The walk is iterative; the reader checks every length against the
/// remaining input before it allocates, so a hostile header cannot make it allocate more than the input.
/// </remarks>
internal static class StrictCbor
{
    /// <summary>Deepest nesting of arrays and maps; Nitro documents need 3 (COSE array, payload map, pcrs map).</summary>
    public const int MaxDepth = 16;

    /// <summary>A reader of <paramref name="input"/> in the conformance mode this class checks.</summary>
    public static CborReader Reader(ReadOnlyMemory<byte> input) => new(input, CborConformanceMode.Strict);

    /// <summary>Whether <paramref name="input"/> is exactly one data item that passes the checks above; never throws.</summary>
    public static bool TryCheck(ReadOnlyMemory<byte> input, [NotNullWhen(false)] out string? error)
    {
        var reader = Reader(input);
        var depth = 0;
        try
        {
            for (var state = reader.PeekState(); state != CborReaderState.Finished; state = reader.PeekState())
            {
                switch (state)
                {
                    case CborReaderState.StartArray or CborReaderState.StartMap:
                        var length = state == CborReaderState.StartArray ? reader.ReadStartArray() : reader.ReadStartMap();
                        if (length is null)
                        {
                            error = Indefinite(input, reader);
                            return false;
                        }

                        if (++depth > MaxDepth)
                        {
                            error = $"depth: nesting deeper than {MaxDepth}";
                            return false;
                        }

                        break;
                    case CborReaderState.StartIndefiniteLengthByteString or CborReaderState.StartIndefiniteLengthTextString:
                        error = Indefinite(input, reader);
                        return false;
                    case CborReaderState.EndArray:
                        reader.ReadEndArray();
                        depth--;
                        break;
                    case CborReaderState.EndMap:
                        reader.ReadEndMap();
                        depth--;
                        break;
                    case CborReaderState.Tag:
                        reader.ReadTag();
                        break;
                    default:
                        reader.SkipValue();
                        break;
                }
            }
        }
        catch (CborContentException e)
        {
            error = $"malformed: {e.Message}";
            return false;
        }
        catch (InvalidOperationException e)
        {
            // A reserved or unassigned encoding the reader reports as the wrong kind of item.
            error = $"malformed: {e.Message}";
            return false;
        }

        if (reader.BytesRemaining != 0)
        {
            error = $"trailing-bytes: {reader.BytesRemaining} bytes after the item";
            return false;
        }

        error = null;
        return true;
    }

    private static string Indefinite(ReadOnlyMemory<byte> input, CborReader reader)
        => $"indefinite-length: an indefinite-length item near offset {input.Length - reader.BytesRemaining}";
}
