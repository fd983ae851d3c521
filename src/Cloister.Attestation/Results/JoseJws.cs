using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Cloister.Attestation.Results;

/// <summary>Compact JWS (RFC 7515) with ES256/ES384 only: the header is {"alg","kid","typ":"JWT"}.</summary>
internal static class JoseJws
{
    /// <summary>A token longer than this is refused before any decoding (a result is a few kilobytes).</summary>
    public const int MaxTokenChars = 1024 * 1024;

    public static string Sign(ReadOnlySpan<byte> payload, ECDsa key, string alg, string kid)
    {
        var header = new StringBuilder();
        using (var buffer = new MemoryStream())
        {
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("alg", alg);
                writer.WriteString("kid", kid);
                writer.WriteString("typ", "JWT");
                writer.WriteEndObject();
            }

            header.Append(JoseBase64Url.Encode(buffer.ToArray()));
        }

        var signingInput = header.Append('.').Append(JoseBase64Url.Encode(payload)).ToString();
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashFor(alg), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + JoseBase64Url.Encode(signature);
    }

    /// <summary>Verifies <paramref name="token"/> with the key its kid names; never throws for a bad token.</summary>
    public static bool TryVerify(
        string? token,
        IReadOnlyList<AttestationJwk> keys,
        [NotNullWhen(true)] out byte[]? payload,
        [NotNullWhen(true)] out AttestationJwk? key,
        [NotNullWhen(false)] out string? error)
    {
        payload = null;
        key = null;
        if (string.IsNullOrEmpty(token))
        {
            error = "jws: empty token";
            return false;
        }

        if (token.Length > MaxTokenChars)
        {
            error = $"jws: longer than {MaxTokenChars} characters";
            return false;
        }

        var first = token.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first <= 0 || second < 0 || token.IndexOf('.', second + 1) >= 0)
        {
            error = "jws: not three dot-separated parts";
            return false;
        }

        if (!JoseBase64Url.TryDecode(token.AsSpan(0, first), out var headerBytes))
        {
            error = "jws: the header is not base64url";
            return false;
        }

        if (!TryReadHeader(headerBytes, out var alg, out var kid, out error))
        {
            return false;
        }

        if (string.Equals(alg, "none", StringComparison.OrdinalIgnoreCase))
        {
            error = "jws: alg \"none\" is refused";
            return false;
        }

        if (alg is not ("ES256" or "ES384"))
        {
            error = $"jws: alg \"{Clip(alg)}\" is not supported (ES256, ES384)";
            return false;
        }

        key = null;
        foreach (var candidate in keys)
        {
            if (string.Equals(candidate.Kid, kid, StringComparison.Ordinal))
            {
                key = candidate;
                break;
            }
        }

        if (key is null)
        {
            error = $"jws: no key with kid \"{Clip(kid)}\"";
            return false;
        }

        if (key.Alg != alg)
        {
            error = $"jws: alg {alg} does not match the key's {key.Alg}";
            key = null;
            return false;
        }

        if (!JoseBase64Url.TryDecode(token.AsSpan(first + 1, second - first - 1), out var payloadBytes))
        {
            error = "jws: the payload is not base64url";
            key = null;
            return false;
        }

        if (!JoseBase64Url.TryDecode(token.AsSpan(second + 1), out var signature) || signature.Length != (alg == "ES256" ? 64 : 96))
        {
            error = "jws: the signature is not base64url of the algorithm's length";
            key = null;
            return false;
        }

        bool valid;
        try
        {
            using var ecdsa = key.CreatePublicKey();
            valid = ecdsa.VerifyData(Encoding.ASCII.GetBytes(token, 0, second), signature, HashFor(alg), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            valid = false;
        }

        if (!valid)
        {
            error = "jws: signature invalid";
            key = null;
            return false;
        }

        payload = payloadBytes;
        error = null;
        return true;
    }

    internal static HashAlgorithmName HashFor(string alg) => alg == "ES384" ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;

    private static bool TryReadHeader(byte[] headerBytes, [NotNullWhen(true)] out string? alg, [NotNullWhen(true)] out string? kid, [NotNullWhen(false)] out string? error)
    {
        alg = null;
        kid = null;
        try
        {
            using var document = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = 8 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "jws: the header is not a JSON object";
                return false;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    error = $"jws: header member \"{Clip(property.Name)}\" appears more than once";
                    return false;
                }

                switch (property.Name)
                {
                    case "alg" when property.Value.ValueKind == JsonValueKind.String:
                        alg = property.Value.GetString();
                        break;
                    case "kid" when property.Value.ValueKind == JsonValueKind.String:
                        kid = property.Value.GetString();
                        break;
                    case "alg" or "kid":
                        error = $"jws: header member \"{property.Name}\" must be a string";
                        return false;
                    case "crit":
                        // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid; we understand none.
                        error = "jws: header \"crit\" extensions are not supported";
                        return false;
                    case "jku" or "jwk" or "x5u" or "x5c":
                        // The key comes from the relying party's key set, never from the token.
                        error = $"jws: header \"{property.Name}\" is refused (keys come from the key set)";
                        return false;
                    default:
                        break;
                }
            }
        }
        catch (JsonException)
        {
            error = "jws: the header is not JSON";
            return false;
        }

        if (alg is null)
        {
            error = "jws: the header has no alg";
            return false;
        }

        if (kid is null)
        {
            error = "jws: the header has no kid";
            return false;
        }

        error = null;
        return true;
    }

    private static string Clip(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");
}
