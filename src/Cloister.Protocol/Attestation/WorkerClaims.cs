using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;

namespace Cloister.Protocol.Attestation;

/// <summary>
/// What an enclave worker's evidence vouches for. The evidence binds <c>report_data = SHA-512(claims)</c>,
/// where claims is this record in its canonical JSON encoding, returned beside the evidence so a verifier
/// (a client, the key broker) recomputes the hash.
/// </summary>
/// <remarks>
/// Canonical encoding (UTF-8, no whitespace, members in exactly this order, hex lower-case):
/// <c>{"version":1,"nonce":"hex","publicKey":"hex","workerMeasurement":"hex","functions":["hex",...]}</c>.
/// nonce: 16..64 bytes chosen by the verifier; publicKey: the worker's HPKE public key (P-256, SEC1
/// uncompressed, 65 bytes); workerMeasurement: SHA-384 of the worker's build and configuration (48 bytes);
/// functions: the SHA-384 function measurements the worker serves for the asking tenant, sorted and
/// without duplicates. <see cref="TryParse"/> accepts only the canonical bytes.
/// </remarks>
/// <param name="Nonce">The verifier's nonce.</param>
/// <param name="PublicKey">The worker's HPKE public key.</param>
/// <param name="WorkerMeasurement">The worker's measurement, lower-case hex.</param>
/// <param name="Functions">Function measurements, lower-case hex.</param>
public sealed record WorkerClaims(byte[] Nonce, byte[] PublicKey, string WorkerMeasurement, IReadOnlyList<string> Functions)
{
    /// <summary>The only version so far.</summary>
    public const int Version = 1;

    /// <summary>Smallest nonce accepted.</summary>
    public const int MinNonceBytes = 16;

    /// <summary>Largest nonce accepted.</summary>
    public const int MaxNonceBytes = 64;

    /// <summary>Size of a P-256 SEC1 uncompressed public key.</summary>
    public const int PublicKeyBytes = 65;

    /// <summary>Hex length of a SHA-384 measurement.</summary>
    public const int MeasurementHexLength = 96;

    /// <summary>The canonical encoding; throws <see cref="ArgumentException"/> for out-of-range fields.</summary>
    public byte[] Encode()
    {
        if (Validate() is { } error)
        {
            throw new ArgumentException(error);
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("version", Version);
            writer.WriteString("nonce", Convert.ToHexStringLower(Nonce));
            writer.WriteString("publicKey", Convert.ToHexStringLower(PublicKey));
            writer.WriteString("workerMeasurement", WorkerMeasurement);
            writer.WriteStartArray("functions");
            foreach (var function in Functions.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                writer.WriteStringValue(function);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>SHA-512 of the canonical encoding: the report data the evidence must carry.</summary>
    public static byte[] ReportData(ReadOnlySpan<byte> canonicalClaims) => SHA512.HashData(canonicalClaims);

    /// <summary>Parse claims, accepting only their canonical encoding.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, [NotNullWhen(true)] out WorkerClaims? claims, [NotNullWhen(false)] out string? error)
    {
        claims = null;
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v) || v != Version
                || !TryHex(root, "nonce", out var nonce) || !TryHex(root, "publicKey", out var publicKey)
                || !root.TryGetProperty("workerMeasurement", out var measurement) || measurement.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("functions", out var functions) || functions.ValueKind != JsonValueKind.Array
                || functions.EnumerateArray().Any(f => f.ValueKind != JsonValueKind.String))
            {
                error = "claims: not a version 1 claims document";
                return false;
            }

            var parsed = new WorkerClaims(nonce, publicKey, measurement.GetString()!, [.. functions.EnumerateArray().Select(f => f.GetString()!)]);
            if (parsed.Validate() is { } invalid)
            {
                error = invalid;
                return false;
            }

            if (!json.SequenceEqual(parsed.Encode()))
            {
                error = "claims: not in canonical form";
                return false;
            }

            claims = parsed;
            error = null;
            return true;
        }
        catch (JsonException)
        {
            error = "claims: not JSON";
            return false;
        }
    }

    private string? Validate()
    {
        if (Nonce is null || Nonce.Length is < MinNonceBytes or > MaxNonceBytes)
        {
            return $"claims: the nonce must be {MinNonceBytes} to {MaxNonceBytes} bytes";
        }

        if (PublicKey is null || PublicKey.Length != PublicKeyBytes || PublicKey[0] != 0x04)
        {
            return "claims: the public key must be a 65-byte uncompressed P-256 point";
        }

        if (!IsMeasurement(WorkerMeasurement))
        {
            return "claims: the worker measurement must be 96 lower-case hex digits (SHA-384)";
        }

        if (Functions is null || Functions.Any(f => !IsMeasurement(f)))
        {
            return "claims: every function measurement must be 96 lower-case hex digits (SHA-384)";
        }

        return null;
    }

    private static bool IsMeasurement(string? hex)
        => hex is { Length: MeasurementHexLength } && hex.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    private static bool TryHex(JsonElement root, string name, out byte[] bytes)
    {
        bytes = [];
        if (!root.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String || element.GetString() is not { } text
            || text.Length % 2 != 0 || text.Any(c => c is not (>= '0' and <= '9' or >= 'a' and <= 'f')))
        {
            return false;
        }

        bytes = Convert.FromHexString(text);
        return true;
    }
}
