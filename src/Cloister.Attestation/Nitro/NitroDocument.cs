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

    public required ReadOnlyMemory<byte> Protected { get; init; }

    public required ReadOnlyMemory<byte> Payload { get; init; }

    public required ReadOnlyMemory<byte> Signature { get; init; }

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

/// <summary>Decodes COSE_Sign1 (RFC 9052 §4.2) and the Nitro payload map, strictly, never throwing.</summary>
internal static class NitroDocumentParser
{
    public const string StructureCheck = "cose-structure";
    public const string AlgorithmCheck = "cose-algorithm";

    private const ulong CoseSign1Tag = 18;
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

        if (!CborDecoder.TryDecode(cbor, out var root, out var error) || root is null)
        {
            return Structure($"cbor: {error}");
        }

        if (root.Kind == CborKind.Tag)
        {
            if (root.Argument != CoseSign1Tag || root.Content is null)
            {
                return Structure($"cose-tag: tag {root.Argument} is not COSE_Sign1 (18)");
            }

            root = root.Content;
        }

        if (root.Kind != CborKind.Array || root.Items.Count != 4)
        {
            return Structure("cose-sign1: not an array of 4");
        }

        var protectedHeader = root.Items[0];
        var unprotected = root.Items[1];
        var payload = root.Items[2];
        var signature = root.Items[3];
        if (protectedHeader.Kind != CborKind.ByteString || unprotected.Kind != CborKind.Map
            || payload.Kind != CborKind.ByteString || signature.Kind != CborKind.ByteString)
        {
            return Structure("cose-sign1: element types are not [bstr, map, bstr, bstr]");
        }

        if (signature.Bytes.Length != SignatureBytes)
        {
            return Structure($"signature-length: {signature.Bytes.Length} bytes, ES384 needs {SignatureBytes}");
        }

        if (!CborDecoder.TryDecode(protectedHeader.Bytes, out var headers, out error) || headers is null)
        {
            return Structure($"protected-header: {error}");
        }

        if (headers.Kind != CborKind.Map)
        {
            return Structure("protected-header: not a map");
        }

        var alg = headers.Get(1);
        if (alg is null || !alg.TryGetInt64(out var algorithm))
        {
            return new(null, AlgorithmCheck, "alg-missing: protected header has no integer alg (1)");
        }

        if (algorithm != NitroDocument.Es384)
        {
            return new(null, AlgorithmCheck, $"alg-unsupported: alg {algorithm}, only ES384 (-35) is accepted");
        }

        if (unprotected.Get(1) is not null)
        {
            return new(null, AlgorithmCheck, "alg-unprotected: alg must not appear in the unprotected header");
        }

        return ParsePayload(protectedHeader.Bytes, payload.Bytes, signature.Bytes);
    }

    private static NitroParseResult ParsePayload(ReadOnlyMemory<byte> protectedBytes, ReadOnlyMemory<byte> payloadBytes, ReadOnlyMemory<byte> signature)
    {
        if (!CborDecoder.TryDecode(payloadBytes, out var map, out var error) || map is null)
        {
            return Structure($"payload-cbor: {error}");
        }

        if (map.Kind != CborKind.Map)
        {
            return Structure("payload: not a map");
        }

        foreach (var entry in map.Entries)
        {
            if (entry.Key.Kind != CborKind.TextString)
            {
                return Structure("payload: a key is not a text string");
            }
        }

        var moduleId = map.Get("module_id");
        if (moduleId is null || moduleId.Kind != CborKind.TextString || moduleId.Text.Length == 0)
        {
            return Structure("payload-module_id: missing or not a non-empty text string");
        }

        var digest = map.Get("digest");
        if (digest is null || digest.Kind != CborKind.TextString || !string.Equals(digest.Text, "SHA384", StringComparison.Ordinal))
        {
            return Structure("payload-digest: missing or not \"SHA384\"");
        }

        var timestamp = map.Get("timestamp");
        if (timestamp is null || timestamp.Kind != CborKind.UnsignedInteger || timestamp.Argument == 0 || timestamp.Argument > MaxTimestampMs)
        {
            return Structure("payload-timestamp: missing, not an unsigned integer, or out of range");
        }

        var pcrs = map.Get("pcrs");
        if (pcrs is null || pcrs.Kind != CborKind.Map || pcrs.Entries.Count == 0 || pcrs.Entries.Count > MaxPcrs)
        {
            return Structure($"payload-pcrs: missing, not a map, or not 1..{MaxPcrs} entries");
        }

        var pcrList = new List<KeyValuePair<int, ReadOnlyMemory<byte>>>(pcrs.Entries.Count);
        foreach (var entry in pcrs.Entries)
        {
            if (entry.Key.Kind != CborKind.UnsignedInteger || entry.Key.Argument >= MaxPcrs)
            {
                return Structure($"payload-pcrs: index is not an integer 0..{MaxPcrs - 1}");
            }

            if (entry.Value.Kind != CborKind.ByteString || entry.Value.Bytes.Length is not (32 or 48 or 64))
            {
                return Structure($"payload-pcrs: PCR{entry.Key.Argument} is not a 32, 48 or 64 byte string");
            }

            pcrList.Add(new((int)entry.Key.Argument, entry.Value.Bytes));
        }

        var certificate = map.Get("certificate");
        if (certificate is null || certificate.Kind != CborKind.ByteString || certificate.Bytes.Length == 0 || certificate.Bytes.Length > MaxCertificateBytes)
        {
            return Structure("payload-certificate: missing or not a byte string of a plausible size");
        }

        var cabundle = map.Get("cabundle");
        if (cabundle is null || cabundle.Kind != CborKind.Array || cabundle.Items.Count == 0 || cabundle.Items.Count > MaxCaBundle)
        {
            return Structure($"payload-cabundle: missing, not an array, or not 1..{MaxCaBundle} certificates");
        }

        var bundle = new List<ReadOnlyMemory<byte>>(cabundle.Items.Count);
        foreach (var item in cabundle.Items)
        {
            if (item.Kind != CborKind.ByteString || item.Bytes.Length == 0 || item.Bytes.Length > MaxCertificateBytes)
            {
                return Structure("payload-cabundle: an entry is not a certificate byte string");
            }

            bundle.Add(item.Bytes);
        }

        if (!TryOptional(map, "public_key", out var publicKey)
            || !TryOptional(map, "user_data", out var userData)
            || !TryOptional(map, "nonce", out var nonce))
        {
            return Structure($"payload-optional: public_key, user_data or nonce is not null or a byte string of at most {MaxFieldBytes} bytes");
        }

        var document = new NitroDocument
        {
            Protected = protectedBytes,
            Payload = payloadBytes,
            Signature = signature,
            ModuleId = moduleId.Text,
            TimestampMs = timestamp.Argument,
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds((long)timestamp.Argument),
            Pcrs = pcrList,
            Certificate = certificate.Bytes,
            CaBundle = bundle,
            PublicKey = publicKey,
            UserData = userData,
            Nonce = nonce,
        };
        return new(document, null, null);
    }

    private static bool TryOptional(CborValue map, string key, out ReadOnlyMemory<byte>? value)
    {
        value = null;
        var item = map.Get(key);
        if (item is null || item.Kind == CborKind.Null)
        {
            return true;
        }

        if (item.Kind != CborKind.ByteString || item.Bytes.Length > MaxFieldBytes)
        {
            return false;
        }

        value = item.Bytes;
        return true;
    }

    private static NitroParseResult Structure(string reason) => new(null, StructureCheck, reason);
}
