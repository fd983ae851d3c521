using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Cloister.Attestation.Results;

/// <summary>The outcome of <see cref="JoseJws.VerifyAsync"/>: the payload and the key that signed it, or why not.</summary>
internal readonly record struct JwsVerification(byte[]? Payload, AttestationJwk? Key, string? Error);

/// <summary>
/// Compact JWS (RFC 7515) with ES256/ES384 only, signed and verified by Microsoft.IdentityModel.JsonWebTokens; the header
/// is {"alg","kid","typ":"JWT"}.
/// </summary>
/// <remarks>
/// The library admits what a verifier of attestation results must not, so a token passes these checks first: only the
/// base64url alphabet and three parts (the library's decoder skips whitespace and reads '+' and '/'); a header that is a
/// JSON object without duplicate members (the library keeps the last of two "alg"); no "crit" (RFC 7515 §4.1.11 says
/// refuse what is not understood; the library ignores it) and no "jku", "jwk", "x5u" or "x5c" (keys come from the key
/// set, never from the token); alg ES256 or ES384 and exactly the alg of the key the kid names (the library verifies
/// an ES384 token with a P-256 key).
/// </remarks>
internal static class JoseJws
{
    /// <summary>A token longer than this is refused before any decoding (a result is a few kilobytes).</summary>
    public const int MaxTokenChars = 1024 * 1024;

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    // The signing key belongs to the caller, who may dispose it: a cached signature provider would outlive it.
    private static readonly CryptoProviderFactory Uncached = new() { CacheSignatureProviders = false };

    public static string Sign(byte[] payload, ECDsa key, string alg, string kid)
    {
        var credentials = new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = kid }, alg) { CryptoProviderFactory = Uncached };
        return Handler.CreateToken(Encoding.UTF8.GetString(payload), credentials);
    }

    /// <summary>Verifies <paramref name="token"/> with the key its kid names; never throws for a bad token.</summary>
    public static async Task<JwsVerification> VerifyAsync(string? token, IReadOnlyList<AttestationJwk> keys)
    {
        if (!TryPrecheck(token, keys, out var key, out var error))
        {
            return new(null, null, error);
        }

        var result = await Handler.ValidateTokenAsync(token, key.ValidationParameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return new(null, null, result.Exception switch
            {
                SecurityTokenInvalidSignatureException => "jws: signature invalid",
                ArgumentException or SecurityTokenMalformedException => "jws: the payload is not a JSON object",
                var other => $"jws: refused ({other?.GetType().Name})",
            });
        }

        // The alphabet was checked, so the payload decodes.
        var payload = JoseBase64Url.TryDecode(((JsonWebToken)result.SecurityToken).EncodedPayload, out var bytes) ? bytes : null;
        return new(payload, key, payload is null ? "jws: the payload is not base64url" : null);
    }

    private static bool TryPrecheck(
        [NotNullWhen(true)] string? token,
        IReadOnlyList<AttestationJwk> keys,
        [NotNullWhen(true)] out AttestationJwk? key,
        [NotNullWhen(false)] out string? error)
    {
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

        if (!JoseBase64Url.IsAlphabet(token.AsSpan(first + 1, second - first - 1)) || !JoseBase64Url.IsAlphabet(token.AsSpan(second + 1)))
        {
            error = "jws: the payload or signature is not base64url";
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

        error = null;
        return true;
    }

    private static bool TryReadHeader(byte[] headerBytes, [NotNullWhen(true)] out string? alg, [NotNullWhen(true)] out string? kid, [NotNullWhen(false)] out string? error)
    {
        alg = null;
        kid = null;
        try
        {
            using var document = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = 8, AllowDuplicateProperties = false });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "jws: the header is not a JSON object";
                return false;
            }

            foreach (var property in root.EnumerateObject())
            {
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
                        error = "jws: header \"crit\" extensions are not supported";
                        return false;
                    case "jku" or "jwk" or "x5u" or "x5c":
                        error = $"jws: header \"{property.Name}\" is refused (keys come from the key set)";
                        return false;
                    default:
                        break;
                }
            }
        }
        catch (JsonException)
        {
            error = "jws: the header is not JSON without duplicate members";
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
