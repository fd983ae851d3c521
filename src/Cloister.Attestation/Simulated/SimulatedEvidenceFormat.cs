using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace Cloister.Attestation.Simulated;

/// <summary>The content of simulated evidence once its signature has been checked.</summary>
internal sealed record SimulatedEvidenceContent(string Measurement, string? ReportData, string? Nonce, DateTimeOffset IssuedAt, bool Debug);

/// <summary>
/// Simulated evidence, version 1: evidence for machines without a TEE, signed by a local ECDSA P-256 key.
/// </summary>
/// <remarks>
/// <para>Layout (all of it, nothing may follow):</para>
/// <list type="number">
/// <item>magic: the 31 ASCII bytes <c>CLOISTER-SIMULATED-EVIDENCE-V1</c> followed by a line feed (0x0A);</item>
/// <item>length: N, 4 bytes, big-endian, 2 ≤ N ≤ 16384;</item>
/// <item>payload: N bytes of UTF-8 JSON, exactly the members
/// <c>{"measurement":"hex","reportData":"hex"|null,"nonce":"hex"|null,"issuedAt":unix-seconds,"debug":false}</c>
/// (hex lower-case, measurement 1..64 bytes, report data and nonce 1..64 bytes when present);</item>
/// <item>signature: 64 bytes, ECDSA P-256 with SHA-256 over magic ‖ length ‖ payload, IEEE P1363 (r ‖ s).</item>
/// </list>
/// <para>The signature is checked before the payload is parsed, so unauthenticated JSON is never read.</para>
/// </remarks>
internal static class SimulatedEvidenceFormat
{
    public const int MaxPayloadBytes = 16384;

    public const int SignatureBytes = 64;

    public const int MaxFieldBytes = 64;

    public static ReadOnlySpan<byte> Magic => "CLOISTER-SIMULATED-EVIDENCE-V1\n"u8;

    public static int HeaderBytes => Magic.Length + 4;

    public static int MaxEvidenceBytes => HeaderBytes + MaxPayloadBytes + SignatureBytes;

    public static byte[] Encode(ECDsa key, ReadOnlySpan<byte> measurement, ReadOnlySpan<byte> reportData, ReadOnlySpan<byte> nonce, DateTimeOffset issuedAt, bool debug)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("measurement", Convert.ToHexStringLower(measurement));
            WriteHexOrNull(writer, "reportData", reportData);
            WriteHexOrNull(writer, "nonce", nonce);
            writer.WriteNumber("issuedAt", issuedAt.ToUnixTimeSeconds());
            writer.WriteBoolean("debug", debug);
            writer.WriteEndObject();
        }

        var payload = buffer.ToArray();
        var evidence = new byte[HeaderBytes + payload.Length + SignatureBytes];
        Magic.CopyTo(evidence);
        BinaryPrimitives.WriteUInt32BigEndian(evidence.AsSpan(Magic.Length), (uint)payload.Length);
        payload.CopyTo(evidence.AsSpan(HeaderBytes));
        var signed = evidence.AsSpan(0, HeaderBytes + payload.Length);
        var written = key.SignData(signed, evidence.AsSpan(signed.Length), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        if (written != SignatureBytes)
        {
            throw new CryptographicException("unexpected P-256 signature length");
        }

        return evidence;
    }

    /// <summary>Checks the framing: magic, payload length in range, and exactly the bytes that length implies.</summary>
    public static bool TryFrame(byte[] evidence, out int payloadLength, [NotNullWhen(false)] out string? error)
    {
        payloadLength = 0;
        if (evidence.Length > MaxEvidenceBytes)
        {
            error = $"evidence-format: {evidence.Length} bytes, more than the {MaxEvidenceBytes} a simulated evidence can have";
            return false;
        }

        if (evidence.Length < HeaderBytes || !evidence.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            error = "evidence-format: no CLOISTER-SIMULATED-EVIDENCE-V1 magic";
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(evidence.AsSpan(Magic.Length));
        if (length < 2 || length > MaxPayloadBytes)
        {
            error = $"evidence-format: payload length {length} outside 2..{MaxPayloadBytes}";
            return false;
        }

        if (evidence.Length != HeaderBytes + (int)length + SignatureBytes)
        {
            error = $"evidence-format: {evidence.Length} bytes, expected {HeaderBytes + (int)length + SignatureBytes} for a {length}-byte payload";
            return false;
        }

        payloadLength = (int)length;
        error = null;
        return true;
    }

    public static bool VerifySignature(byte[] evidence, int payloadLength, ECParameters attesterKey)
    {
        try
        {
            using var key = ECDsa.Create(attesterKey);
            var signedLength = HeaderBytes + payloadLength;
            return key.VerifyData(
                evidence.AsSpan(0, signedLength),
                evidence.AsSpan(signedLength, SignatureBytes),
                HashAlgorithmName.SHA256,
                DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Parses the (already authenticated) payload; strict, every member required, nothing else allowed.</summary>
    public static bool TryParsePayload(ReadOnlySpan<byte> payload, [NotNullWhen(true)] out SimulatedEvidenceContent? content, [NotNullWhen(false)] out string? error)
    {
        content = null;
        string? measurement = null, reportData = null, nonce = null;
        long? issuedAt = null;
        bool? debug = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(payload.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "evidence-payload: not a JSON object";
                return false;
            }

            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    error = $"evidence-payload: \"{property.Name}\" appears more than once";
                    return false;
                }

                var value = property.Value;
                switch (property.Name)
                {
                    case "measurement":
                        if (!TryHex(value, allowNull: false, out measurement))
                        {
                            error = "evidence-payload: measurement must be 1 to 64 bytes of lower-case hex";
                            return false;
                        }

                        break;
                    case "reportData":
                        if (!TryHex(value, allowNull: true, out reportData))
                        {
                            error = "evidence-payload: reportData must be null or 1 to 64 bytes of lower-case hex";
                            return false;
                        }

                        break;
                    case "nonce":
                        if (!TryHex(value, allowNull: true, out nonce))
                        {
                            error = "evidence-payload: nonce must be null or 1 to 64 bytes of lower-case hex";
                            return false;
                        }

                        break;
                    case "issuedAt":
                        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var seconds) || seconds < 0 || seconds > 253402300799)
                        {
                            error = "evidence-payload: issuedAt must be unix seconds";
                            return false;
                        }

                        issuedAt = seconds;
                        break;
                    case "debug":
                        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                        {
                            error = "evidence-payload: debug must be true or false";
                            return false;
                        }

                        debug = value.GetBoolean();
                        break;
                    default:
                        error = $"evidence-payload: unknown member \"{(property.Name.Length > 40 ? property.Name[..40] : property.Name)}\"";
                        return false;
                }
            }
        }
        catch (JsonException)
        {
            error = "evidence-payload: not valid JSON";
            return false;
        }

        if (measurement is null || issuedAt is null || debug is null || !seen.Contains("reportData") || !seen.Contains("nonce"))
        {
            error = "evidence-payload: measurement, reportData, nonce, issuedAt and debug are all required";
            return false;
        }

        content = new SimulatedEvidenceContent(measurement, reportData, nonce, DateTimeOffset.FromUnixTimeSeconds(issuedAt.Value), debug.Value);
        error = null;
        return true;
    }

    private static bool TryHex(JsonElement value, bool allowNull, out string? hex)
    {
        hex = null;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return allowNull;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var text = value.GetString()!;
        if (text.Length == 0 || text.Length % 2 != 0 || text.Length > 2 * MaxFieldBytes || !text.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
        {
            return false;
        }

        hex = text;
        return true;
    }

    private static void WriteHexOrNull(Utf8JsonWriter writer, string name, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, Convert.ToHexStringLower(bytes));
        }
    }

    internal static string Describe(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
