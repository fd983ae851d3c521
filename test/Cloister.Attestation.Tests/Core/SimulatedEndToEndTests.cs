using System.Security.Cryptography;
using Cloister.Attestation.Policy;
using Cloister.Attestation.Results;
using Cloister.Attestation.Simulated;

namespace Cloister.Attestation.Tests.Core;

public sealed class SimulatedEndToEndTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task SimulatedEvidence_PolicyFile_SignedResult_RelyingPartyValidation()
    {
        using var attesterKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var nonce = RandomNumberGenerator.GetBytes(32);
        var evidence = new SimulatedAttester(attesterKey).CreateEvidence(new byte[48], [], nonce, At);
        Assert.True(AppraisalPolicyJson.TryParse(
            $$"""{"id":"dev-machines","allowedTees":["simulated"],"expectedNonce":"{{Convert.ToHexString(nonce)}}","maxAgeSeconds":60}""",
            out var policy,
            out var error),
            error);

        var result = new AttestationVerifier([new SimulatedVerifier(attesterKey)])
            .Verify(new EvidenceBundle(TeeType.Simulated, evidence, []), policy, At.AddSeconds(5));
        Assert.Equal(Verdict.Affirming, result.Verdict);

        var signer = new AttestationResultSigner(issuerKey);
        var token = signer.Sign(result, AppraisalContext.Of(policy, At.AddSeconds(5)), At.AddSeconds(5), TimeSpan.FromMinutes(5));
        Assert.True(AttestationResultValidator.TryCreate(signer.ExportJwks(), out var validator, out error), error);
        var validation = await validator.ValidateAsync(token, At.AddMinutes(1));

        Assert.True(validation.IsValid, validation.Error);
        Assert.Equal("ES384", validation.Token.Algorithm);
        Assert.Equal("dev-machines", validation.Token.PolicyId);
        Assert.True(validation.Token.WasAppraisedUnder(policy));
        Assert.Equal(At.AddSeconds(5), validation.Token.VerifiedAt);
        Assert.Equal(Verdict.Affirming, validation.Token.Result.Verdict);
        Assert.Equal(TeeType.Simulated, validation.Token.Result.Claims.Tee);
        Assert.Equal("true", validation.Token.Result.Claims.Extra["simulated"]);
        Assert.Equal(Convert.ToHexStringLower(nonce), validation.Token.Result.Claims.Nonce);
        Assert.Equal(result.Checks, validation.Token.Result.Checks);
        Assert.Contains("\"simulated\":{\"ear.status\":\"affirming\"", validation.Token.PayloadJson, StringComparison.Ordinal);
    }
}
