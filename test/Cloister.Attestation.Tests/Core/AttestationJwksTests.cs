using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Attestation.Results;

namespace Cloister.Attestation.Tests.Core;

public sealed class AttestationJwksTests
{
    private const string VeraisonX = "usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8";
    private const string VeraisonY = "IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4";

    [Fact]
    public void EcThumbprint_IsSha256OfTheCanonicalMembers()
    {
        Assert.True(AttestationJwks.TryParse($$"""{"keys":[{"kty":"EC","crv":"P-256","x":"{{VeraisonX}}","y":"{{VeraisonY}}"}]}""", out var keys, out var error), error);
        var canonical = $$"""{"crv":"P-256","kty":"EC","x":"{{VeraisonX}}","y":"{{VeraisonY}}"}""";
        var expected = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Assert.Equal(expected, Assert.Single(keys).Kid);
        Assert.Equal(expected, keys[0].Thumbprint);
    }

    [Theory]
    [InlineData(256, "P-256", "ES256", 43)]
    [InlineData(384, "P-384", "ES384", 64)]
    public void ExportedJwks_HasExactlyThePublicMembers(int bits, string crv, string alg, int coordinateChars)
    {
        using var key = ECDsa.Create(bits == 256 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
        var signer = new AttestationResultSigner(key);

        using var jwks = JsonDocument.Parse(signer.ExportJwks());
        var jwk = Assert.Single(jwks.RootElement.GetProperty("keys").EnumerateArray());
        Assert.Equal(["alg", "crv", "kid", "kty", "use", "x", "y"], jwk.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("EC", jwk.GetProperty("kty").GetString());
        Assert.Equal(crv, jwk.GetProperty("crv").GetString());
        Assert.Equal(alg, jwk.GetProperty("alg").GetString());
        Assert.Equal("sig", jwk.GetProperty("use").GetString());
        Assert.Equal(coordinateChars, jwk.GetProperty("x").GetString()!.Length);
        Assert.Equal(coordinateChars, jwk.GetProperty("y").GetString()!.Length);
        Assert.Equal(signer.PublicKey.Thumbprint, jwk.GetProperty("kid").GetString());
        Assert.Equal(43, signer.KeyId.Length);

        Assert.True(AttestationJwks.TryParse(signer.ExportJwks(), out var parsed, out var error), error);
        Assert.Equal(signer.KeyId, Assert.Single(parsed).Kid);
    }

    [Fact]
    public void ExplicitKid_IsKept()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signer = new AttestationResultSigner(key, keyId: "2026-01");
        Assert.Equal("2026-01", signer.KeyId);
        Assert.Contains("\"kid\":\"2026-01\"", signer.ExportJwks(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"Y","d":"V8kgd2ZBRuh2dgyVINBUqpPDr7BOMGcF22CQMIUHtNM"}""", "jwk.d")]
    [InlineData("""{"kty":"RSA","n":"AQAB","e":"AQAB"}""", "jwk.kty")]
    [InlineData("""{"kty":"EC","crv":"P-521","x":"X","y":"Y"}""", "jwk.crv")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"AAAA","y":"Y"}""", "jwk.x")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"Y==="}""", "jwk.y")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"Y","alg":"ES384"}""", "jwk.alg")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"Y","alg":"none"}""", "jwk.alg")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"Y","use":"enc"}""", "jwk.use")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"Y","kid":""}""", "jwk.kid")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"Y","kid":7}""", "jwk.kid")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"X","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}""", "jwk: the point")]
    public void BadKey_IsRefused_WithAMessageNamingTheMember(string jwk, string expected)
    {
        var json = "{\"keys\":[" + jwk.Replace("\"X\"", $"\"{VeraisonX}\"", StringComparison.Ordinal).Replace("\"Y\"", $"\"{VeraisonY}\"", StringComparison.Ordinal) + "]}";
        Assert.False(AttestationJwks.TryParse(json, out var keys, out var error));
        Assert.Null(keys);
        Assert.StartsWith("jwks.keys[0]: " + expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"keys":{}}""")]
    [InlineData("not json")]
    public void BadKeySet_IsRefused(string json)
    {
        Assert.False(AttestationJwks.TryParse(json, out _, out var error));
        Assert.StartsWith("jwks:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateKids_AreRefused()
    {
        var jwk = $$"""{"kty":"EC","crv":"P-256","x":"{{VeraisonX}}","y":"{{VeraisonY}}"}""";
        Assert.False(AttestationJwks.TryParse($$"""{"keys":[{{jwk}},{{jwk}}]}""", out _, out var error));
        Assert.Contains("more than once", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownMembers_AreIgnored()
    {
        var jwk = $$"""{"kty":"EC","crv":"P-256","x":"{{VeraisonX}}","y":"{{VeraisonY}}","key_ops":["verify"],"x5t":"abc"}""";
        Assert.True(AttestationJwks.TryParse($$"""{"keys":[{{jwk}}]}""", out var keys, out var error), error);
        Assert.Single(keys);
    }
}
