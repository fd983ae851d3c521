using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Cloister.Attestation.Results;

/// <summary>
/// A public EC signing key as a JSON Web Key (RFC 7517/7518): kty "EC", crv "P-256" or "P-384", x, y,
/// kid (by default its RFC 7638 SHA-256 thumbprint), alg "ES256" or "ES384", use "sig".
/// </summary>
public sealed class AttestationJwk
{
    private AttestationJwk(string crv, string x, string y, string kid)
    {
        Crv = crv;
        X = x;
        Y = y;
        Kid = kid;
        Alg = crv == "P-256" ? "ES256" : "ES384";
        SecurityKey = new JsonWebKey { Kty = Kty, Crv = crv, X = x, Y = y, Kid = kid, Alg = Alg, Use = Use };
        ValidationParameters = new TokenValidationParameters
        {
            // Only this key and its alg; a missing signature is an error.
            IssuerSigningKey = SecurityKey,
            TryAllIssuerSigningKeys = false,
            ValidAlgorithms = [Alg],
            RequireSignedTokens = true,

            // AttestationResultValidator judges iat, exp and verifiedAt against the caller's clock; a result has no
            // issuer or audience to check.
            ValidateLifetime = false,
            RequireExpirationTime = false,
            ValidateIssuer = false,
            ValidateAudience = false,
        };
    }

    /// <summary>Always "EC".</summary>
    public string Kty { get; } = "EC";

    /// <summary>"P-256" or "P-384".</summary>
    public string Crv { get; }

    /// <summary>The x coordinate, base64url, fixed length.</summary>
    public string X { get; }

    /// <summary>The y coordinate, base64url, fixed length.</summary>
    public string Y { get; }

    /// <summary>The key id.</summary>
    public string Kid { get; }

    /// <summary>"ES256" for P-256, "ES384" for P-384: the only algorithm this key verifies.</summary>
    public string Alg { get; }

    /// <summary>Always "sig".</summary>
    public string Use { get; } = "sig";

    /// <summary>The RFC 7638 thumbprint (SHA-256, base64url) of this key: {"crv","kty","x","y"} in that order.</summary>
    public string Thumbprint => JoseBase64Url.Encode(SecurityKey.ComputeJwkThumbprint());

    /// <summary>This key as Microsoft.IdentityModel's JWK, which verifies the tokens.</summary>
    internal JsonWebKey SecurityKey { get; }

    /// <summary>What <see cref="JoseJws.VerifyAsync"/> asks the JWT library to check with this key.</summary>
    internal TokenValidationParameters ValidationParameters { get; }

    /// <summary>The public half of <paramref name="key"/>; the kid is its RFC 7638 thumbprint unless <paramref name="keyId"/> is given.</summary>
    /// <exception cref="ArgumentException">The key is not on P-256 or P-384.</exception>
    public static AttestationJwk FromKey(ECDsa key, string? keyId = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        var parameters = key.ExportParameters(includePrivateParameters: false);
        var crv = CurveName(parameters.Curve)
            ?? throw new ArgumentException("only P-256 and P-384 keys can sign attestation results", nameof(key));
        var x = JoseBase64Url.Encode(parameters.Q.X);
        var y = JoseBase64Url.Encode(parameters.Q.Y);
        var jwk = new AttestationJwk(crv, x, y, "pending");
        var kid = keyId ?? jwk.Thumbprint;
        if (kid.Length == 0)
        {
            throw new ArgumentException("the key id must not be empty", nameof(keyId));
        }

        return new AttestationJwk(crv, x, y, kid);
    }

    /// <summary>
    /// Reads one JWK object. Refuses other key types and curves, coordinates of the wrong length, points not on the
    /// curve, an "alg" other than the curve's, a "use" other than "sig" and any private member ("d").
    /// A missing kid becomes the RFC 7638 thumbprint.
    /// </summary>
    public static bool TryParse(JsonElement element, [NotNullWhen(true)] out AttestationJwk? jwk, [NotNullWhen(false)] out string? error)
    {
        jwk = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            error = "jwk: must be an object";
            return false;
        }

        string? kty = null, crv = null, x = null, y = null, kid = null, alg = null, use = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                error = $"jwk.{property.Name}: appears more than once";
                return false;
            }

            if (property.Name is "d" or "p" or "q" or "dp" or "dq" or "qi" or "k")
            {
                error = $"jwk.{property.Name}: private key material does not belong in a key set";
                return false;
            }

            if (property.Name is not ("kty" or "crv" or "x" or "y" or "kid" or "alg" or "use"))
            {
                continue; // RFC 7517 §4: members that are not understood are ignored (key_ops, x5c, ...).
            }

            if (property.Value.ValueKind != JsonValueKind.String)
            {
                error = $"jwk.{property.Name}: must be a string";
                return false;
            }

            var value = property.Value.GetString()!;
            switch (property.Name)
            {
                case "kty": kty = value; break;
                case "crv": crv = value; break;
                case "x": x = value; break;
                case "y": y = value; break;
                case "kid": kid = value; break;
                case "alg": alg = value; break;
                default: use = value; break;
            }
        }

        if (kty != "EC")
        {
            error = $"jwk.kty: only \"EC\" keys are supported, not \"{kty}\"";
            return false;
        }

        var size = crv switch { "P-256" => 32, "P-384" => 48, _ => 0 };
        if (size == 0)
        {
            error = $"jwk.crv: only P-256 and P-384 are supported, not \"{crv}\"";
            return false;
        }

        if (x is null || !JoseBase64Url.TryDecode(x, out var xBytes) || xBytes.Length != size)
        {
            error = $"jwk.x: must be {size} bytes in base64url";
            return false;
        }

        if (y is null || !JoseBase64Url.TryDecode(y, out var yBytes) || yBytes.Length != size)
        {
            error = $"jwk.y: must be {size} bytes in base64url";
            return false;
        }

        var candidate = new AttestationJwk(crv!, x, y, "pending");
        if (alg is not null && alg != candidate.Alg)
        {
            error = $"jwk.alg: \"{alg}\" does not fit a {crv} key (expected {candidate.Alg})";
            return false;
        }

        if (use is not null && use != "sig")
        {
            error = $"jwk.use: must be \"sig\", not \"{use}\"";
            return false;
        }

        if (kid is { Length: 0 })
        {
            error = "jwk.kid: must not be empty";
            return false;
        }

        candidate = new AttestationJwk(crv!, x, y, kid ?? candidate.Thumbprint);
        try
        {
            using var key = candidate.CreatePublicKey();
        }
        catch (CryptographicException)
        {
            error = "jwk: the point is not on the curve";
            return false;
        }

        jwk = candidate;
        error = null;
        return true;
    }

    /// <summary>Writes this key as a JSON object.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("kty", Kty);
        writer.WriteString("crv", Crv);
        writer.WriteString("x", X);
        writer.WriteString("y", Y);
        writer.WriteString("kid", Kid);
        writer.WriteString("alg", Alg);
        writer.WriteString("use", Use);
        writer.WriteEndObject();
    }

    /// <summary>A new ECDsa holding this public key; the caller disposes it.</summary>
    public ECDsa CreatePublicKey()
    {
        var parameters = new ECParameters
        {
            Curve = Crv == "P-256" ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384,
            Q = new ECPoint { X = Decode(X), Y = Decode(Y) },
        };
        return ECDsa.Create(parameters);
    }

    internal static string? CurveName(ECCurve curve)
    {
        var oid = curve.Oid?.Value;
        return oid switch
        {
            "1.2.840.10045.3.1.7" => "P-256",
            "1.3.132.0.34" => "P-384",
            _ => null,
        };
    }

    private static byte[] Decode(string value)
        => JoseBase64Url.TryDecode(value, out var bytes) ? bytes : throw new InvalidOperationException("unreachable: coordinates are validated");
}
