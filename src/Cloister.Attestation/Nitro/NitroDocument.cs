using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using Cloister.Attestation.Cbor;

namespace Cloister.Attestation.Nitro;

/// <summary>A decoded, not yet verified, Nitro attestation document (COSE_Sign1 and its payload map).</summary>
internal sealed class NitroDocument
{
    /// <summary>Largest document accepted, raw CBOR. Real documents are 4–7 KiB; the AWS bounds
    /// (certificate, public_key, user_data, nonce ≤ 1024 B each, 32 PCRs of ≤ 64 B, a cabundle of a few certificates) stay far below.</summary>
    public const int MaxDocumentBytes = 64 * 1024;

    /// <summary>COSE algorithm ES384.</summary>
    public const long Es384 = -35;

    /// <summary>The COSE_Sign1 message: its protected header, payload and signature, verified with <see cref="CoseSign1Message.VerifyEmbedded(System.Security.Cryptography.AsymmetricAlgorithm, ReadOnlySpan{byte})"/>.</summary>
    public required CoseSign1Message Message { get; init; }

    public required string ModuleId { get; init; }

    public required ulong TimestampMs { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>PCRs by index, in document order.</summary>
    public required IReadOnlyList<KeyValuePair<int, ReadOnlyMemory<byte>>> Pcrs { get; init; }

    public required ReadOnlyMemory<byte> Certificate { get; init; }

    /// <summary>The CA bundle: [0] the root, …, [n-1] the issuer of <see cref="Certificate"/>.</summary>
    public required IReadOnlyList<ReadOnlyMemory<byte>> CaBundle { get; init; }

    public ReadOnlyMemory<byte>? PublicKey { get; init; }

    public ReadOnlyMemory<byte>? UserData { get; init; }

    public ReadOnlyMemory<byte>? Nonce { get; init; }

    public ReadOnlyMemory<byte>? Pcr(int index)
    {
        foreach (var pcr in Pcrs)
        {
            if (pcr.Key == index)
            {
                return pcr.Value;
            }
        }

        return null;
    }
}

/// <summary>The outcome of decoding: a document, or the failing check and its reason.</summary>
internal readonly record struct NitroParseResult(NitroDocument? Document, string? FailedCheck, string? Reason);

/// <summary>
/// Decodes COSE_Sign1 (RFC 9052 §4.2) with System.Security.Cryptography.Cose and the Nitro payload map with
/// System.Formats.Cbor, strictly (<see cref="StrictCbor"/>), never throwing.
/// </summary>
/// <remarks>
/// The COSE library reads the envelope in Strict mode but admits indefinite lengths and nesting to its own limit, so the
/// envelope, the protected header and the payload each pass <see cref="StrictCbor.TryCheck"/> first.
/// </remarks>
internal static class NitroDocumentParser
{
    public const string StructureCheck = "cose-structure";
    public const string AlgorithmCheck = "cose-algorithm";

    private const int SignatureBytes = 96;
    private const int MaxFieldBytes = 1024;
    private const int MaxCertificateBytes = 4096;
    private const int MaxPcrs = 32;
    private const int MaxCaBundle = 16;

    // Largest timestamp DateTimeOffset can represent: 9999-12-31T23:59:59.999Z.
    private const ulong MaxTimestampMs = 253_402_300_799_999;

    public static NitroParseResult Parse(ReadOnlyMemory<byte> cbor)
    {
        if (cbor.Length == 0)
        {
            return Structure("empty: no document");
        }

        if (cbor.Length > NitroDocument.MaxDocumentBytes)
        {
            return Structure($"too-large: {cbor.Length} bytes > {NitroDocument.MaxDocumentBytes}");
        }

        if (!StrictCbor.TryCheck(cbor, out var error))
        {
            return Structure($"cbor: {error}");
        }

        CoseSign1Message message;
        try
        {
            // Tagged (18) or untagged; [bstr protected, map unprotected, bstr payload, bstr signature], nothing after it,
            // no label in both header buckets.
            message = CoseMessage.DecodeSign1(cbor.Span);
        }
        catch (CryptographicException e)
        {
            return Structure($"cose-sign1: {e.InnerException?.Message ?? e.Message}");
        }

        if (message.Content is not { } payload)
        {
            return Structure("cose-sign1: detached payload, the document must carry it");
        }

        if (message.Signature.Length != SignatureBytes)
        {
            return Structure($"signature-length: {message.Signature.Length} bytes, ES384 needs {SignatureBytes}");
        }

        if (!StrictCbor.TryCheck(message.RawProtectedHeaders, out error))
        {
            return Structure($"protected-header: {error}");
        }

        if (!message.ProtectedHeaders.TryGetValue(CoseHeaderLabel.Algorithm, out var alg) || ReadInteger(alg.EncodedValue) is not { } algorithm)
        {
            return new(null, AlgorithmCheck, "alg-missing: protected header has no integer alg (1)");
        }

        if (algorithm != NitroDocument.Es384)
        {
            return new(null, AlgorithmCheck, $"alg-unsupported: alg {algorithm}, only ES384 (-35) is accepted");
        }

        if (!StrictCbor.TryCheck(payload, out error))
        {
            return Structure($"payload-cbor: {error}");
        }

        return ParsePayload(message, payload);
    }

    /// <summary>The payload map, already through <see cref="StrictCbor.TryCheck"/> (definite lengths, unique keys), so reads
    /// guarded by <see cref="CborReader.PeekState"/> cannot throw.</summary>
    private static NitroParseResult ParsePayload(CoseSign1Message message, ReadOnlyMemory<byte> payload)
    {
        var reader = StrictCbor.Reader(payload);
        if (reader.PeekState() != CborReaderState.StartMap)
        {
            return Structure("payload: not a map");
        }

        var count = reader.ReadStartMap() ?? 0;
        var fields = new Dictionary<string, ReadOnlyMemory<byte>>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            if (reader.PeekState() != CborReaderState.TextString)
            {
                return Structure("payload: a key is not a text string");
            }

            fields[reader.ReadTextString()] = reader.ReadEncodedValue();
        }

        if (Field(fields, "module_id", CborReaderState.TextString)?.ReadTextString() is not { Length: > 0 } moduleId)
        {
            return Structure("payload-module_id: missing or not a non-empty text string");
        }

        if (Field(fields, "digest", CborReaderState.TextString)?.ReadTextString() != "SHA384")
        {
            return Structure("payload-digest: missing or not \"SHA384\"");
        }

        if (Field(fields, "timestamp", CborReaderState.UnsignedInteger)?.ReadUInt64() is not (> 0 and <= MaxTimestampMs and ulong timestamp))
        {
            return Structure("payload-timestamp: missing, not an unsigned integer, or out of range");
        }

        var pcrs = Field(fields, "pcrs", CborReaderState.StartMap);
        var pcrCount = pcrs?.ReadStartMap() ?? 0;
        if (pcrs is null || pcrCount is 0 or > MaxPcrs)
        {
            return Structure($"payload-pcrs: missing, not a map, or not 1..{MaxPcrs} entries");
        }

        var pcrList = new List<KeyValuePair<int, ReadOnlyMemory<byte>>>(pcrCount);
        for (var i = 0; i < pcrCount; i++)
        {
            if (pcrs.PeekState() != CborReaderState.UnsignedInteger || pcrs.ReadUInt64() is not (< MaxPcrs and var index))
            {
                return Structure($"payload-pcrs: index is not an integer 0..{MaxPcrs - 1}");
            }

            if (ReadBytes(pcrs) is not { Length: 32 or 48 or 64 } value)
            {
                return Structure($"payload-pcrs: PCR{index} is not a 32, 48 or 64 byte string");
            }

            pcrList.Add(new((int)index, value));
        }

        if (ReadBytes(Field(fields, "certificate", CborReaderState.ByteString)) is not { Length: > 0 and <= MaxCertificateBytes } certificate)
        {
            return Structure("payload-certificate: missing or not a byte string of a plausible size");
        }

        var cabundle = Field(fields, "cabundle", CborReaderState.StartArray);
        var bundleCount = cabundle?.ReadStartArray() ?? 0;
        if (cabundle is null || bundleCount is 0 or > MaxCaBundle)
        {
            return Structure($"payload-cabundle: missing, not an array, or not 1..{MaxCaBundle} certificates");
        }

        var bundle = new List<ReadOnlyMemory<byte>>(bundleCount);
        for (var i = 0; i < bundleCount; i++)
        {
            if (ReadBytes(cabundle) is not { Length: > 0 and <= MaxCertificateBytes } item)
            {
                return Structure("payload-cabundle: an entry is not a certificate byte string");
            }

            bundle.Add(item);
        }

        if (!TryOptional(fields, "public_key", out var publicKey)
            || !TryOptional(fields, "user_data", out var userData)
            || !TryOptional(fields, "nonce", out var nonce))
        {
            return Structure($"payload-optional: public_key, user_data or nonce is not null or a byte string of at most {MaxFieldBytes} bytes");
        }

        var document = new NitroDocument
        {
            Message = message,
            ModuleId = moduleId,
            TimestampMs = timestamp,
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds((long)timestamp),
            Pcrs = pcrList,
            Certificate = certificate,
            CaBundle = bundle,
            PublicKey = publicKey,
            UserData = userData,
            Nonce = nonce,
        };
        return new(document, null, null);
    }

    /// <summary>A reader of the field's value when the field is present and its next item is <paramref name="state"/>.</summary>
    private static CborReader? Field(Dictionary<string, ReadOnlyMemory<byte>> fields, string name, CborReaderState state)
    {
        if (!fields.TryGetValue(name, out var encoded))
        {
            return null;
        }

        var reader = StrictCbor.Reader(encoded);
        return reader.PeekState() == state ? reader : null;
    }

    /// <summary>The next item's bytes (a slice of the payload) when it is a byte string, else null.</summary>
    private static ReadOnlyMemory<byte>? ReadBytes(CborReader? reader)
        => reader?.PeekState() == CborReaderState.ByteString ? reader.ReadDefiniteLengthByteString() : null;

    /// <summary>An integer item's value, wide enough for every CBOR integer; null for anything else.</summary>
    private static Int128? ReadInteger(ReadOnlyMemory<byte> encoded)
    {
        var reader = StrictCbor.Reader(encoded);
        return reader.PeekState() switch
        {
            CborReaderState.UnsignedInteger => reader.ReadUInt64(),
            CborReaderState.NegativeInteger => -1 - (Int128)reader.ReadCborNegativeIntegerRepresentation(),
            _ => null,
        };
    }

    private static bool TryOptional(Dictionary<string, ReadOnlyMemory<byte>> fields, string key, out ReadOnlyMemory<byte>? value)
    {
        value = null;
        if (!fields.TryGetValue(key, out var encoded))
        {
            return true;
        }

        var reader = StrictCbor.Reader(encoded);
        if (reader.PeekState() == CborReaderState.Null)
        {
            return true;
        }

        value = ReadBytes(reader);
        return value is { Length: <= MaxFieldBytes };
    }

    private static NitroParseResult Structure(string reason) => new(null, StructureCheck, reason);
}
