using System.Text.Json;
using Cloister.Attestation.Nitro;

namespace Cloister.Attestation.Tests.Nitro;

public sealed class NitroVerifierTests
{
    private static readonly AppraisalPolicy DefaultPolicy = new();

    private static Check Find(AttestationResult result, string name) => Assert.Single(result.Checks, c => c.Name == name);

    [Fact]
    public void ValidDocument_AtItsTime_IsAffirming()
    {
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, NitroVectors.ValidAt);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.DoesNotContain(result.Checks, c => c.Status == CheckStatus.Fail);
        Assert.Equal(CheckStatus.Pass, Find(result, "cose-structure").Status);
        Assert.Equal(CheckStatus.Pass, Find(result, "cose-algorithm").Status);
        Assert.Equal(CheckStatus.Pass, Find(result, "signature").Status);
        Assert.Equal(CheckStatus.Pass, Find(result, "certificate-chain").Status);
        Assert.Equal(CheckStatus.Pass, Find(result, "debug").Status);
        Assert.Equal(TeeType.Nitro, result.Claims.Tee);
        Assert.False(result.Claims.Debug);
        Assert.Equal(new DateTimeOffset(2022, 10, 13, 8, 58, 2, TimeSpan.Zero), result.Claims.IssuedAt!.Value.AddTicks(-(result.Claims.IssuedAt.Value.Ticks % TimeSpan.TicksPerSecond)));
        Assert.Equal(96, result.Claims.Measurement!.Length);
        Assert.Equal(result.Claims.Measurement, result.Claims.Extra["pcr0"]);
        Assert.True(result.Claims.Extra.ContainsKey("pcr8"));
        Assert.False(string.IsNullOrEmpty(result.Claims.Extra["module_id"]));
    }

    [Fact]
    public void DebugDocument_IsContraindicatedForDebug()
    {
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.DebugDoc), DefaultPolicy, NitroVectors.DebugAt);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal("debug", Assert.Single(result.Checks, c => c.Status == CheckStatus.Fail).Name);
        var debug = Find(result, "debug");
        Assert.Equal(CheckStatus.Fail, debug.Status);
        Assert.StartsWith("debug:", debug.Reason, StringComparison.Ordinal);
        Assert.True(result.Claims.Debug);
        Assert.Equal(CheckStatus.Pass, Find(result, "signature").Status);
        Assert.Equal(CheckStatus.Pass, Find(result, "certificate-chain").Status);
        Assert.NotNull(result.Claims.ReportData);
        Assert.True(result.Claims.Extra.ContainsKey("public_key"));
        Assert.Null(result.Claims.Nonce);
    }

    [Fact]
    public void DebugDocument_WithPolicyAllowingDebug_IsAffirming()
    {
        var policy = new AppraisalPolicy { AllowDebug = true };
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.DebugDoc), policy, NitroVectors.DebugAt);

        Assert.Equal(Verdict.Affirming, result.Verdict);
    }

    [Fact]
    public void Base64Document_IsDecoded_AndContraindicatedForDebug()
    {
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.Base64Doc), DefaultPolicy, NitroVectors.Base64At);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal("debug", Assert.Single(result.Checks, c => c.Status == CheckStatus.Fail).Name);
        Assert.Equal(CheckStatus.Pass, Find(result, "signature").Status);
        Assert.Equal(CheckStatus.Pass, Find(result, "certificate-chain").Status);
        Assert.Equal(512, result.Claims.Nonce!.Length);
        Assert.Equal(Verdict.Affirming, new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.Base64Doc), new AppraisalPolicy { AllowDebug = true }, NitroVectors.Base64At).Verdict);
    }

    public static TheoryData<string> NegativeFiles()
    {
        var data = new TheoryData<string>();
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "vectors", "negative_manifest.json")));
        foreach (var entry in manifest.RootElement.EnumerateArray())
        {
            var file = entry.GetProperty("file").GetString()!;
            if (file.StartsWith("nitro/", StringComparison.Ordinal))
            {
                data.Add(file);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(NegativeFiles))]
    public void NegativeVector_IsContraindicated(string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "vectors", file));
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(bytes), DefaultPolicy, NitroVectors.ValidAt);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        var failed = result.Checks.Where(c => c.Status == CheckStatus.Fail).Select(c => c.Name).ToList();
        var expected = Path.GetFileName(file) switch
        {
            "nitro_pcr0_bitflip.bin" => "signature",
            "nitro_signature_bitflip.bin" => "signature",
            "nitro_protected_alg_changed.bin" => "cose-algorithm",
            "nitro_truncated.bin" => "cose-structure",
            _ => throw new InvalidOperationException($"no expectation for {file}"),
        };
        Assert.Contains(expected, failed);
    }

    [Fact]
    public void NegativeManifest_ListsTheFourNitroMutations() => Assert.Equal(4, NegativeFiles().Count);

    [Fact]
    public void TruncatedDocument_ReasonIsCbor()
    {
        var bytes = NitroVectors.Read("negative/nitro_truncated.bin");
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(bytes), DefaultPolicy, NitroVectors.ValidAt);

        Assert.StartsWith("cbor:", Find(result, "cose-structure").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidDocument_AfterTheLeafExpired_IsContraindicatedForCertValidity_ThoughTheChainHeldAtItsTimestamp()
    {
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal("cert-validity", Assert.Single(result.Checks, c => c.Status == CheckStatus.Fail).Name);
        Assert.StartsWith("expired: the chain expired at 2022-10-13T11:58:02", Find(result, "cert-validity").Reason, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Pass, Find(result, "certificate-chain").Status);
    }

    [Fact]
    public void ValidDocument_FromTheFuture_IsContraindicatedForFreshness_WithoutAMaxAge()
    {
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, new DateTimeOffset(1990, 1, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith("future:", Find(result, "freshness").Reason, StringComparison.Ordinal);
        Assert.StartsWith("not-yet-valid:", Find(result, "cert-validity").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidDocument_VerifierClockSecondsBehind_IsAffirming()
    {
        // The leaf starts 3 s before the document's timestamp: a verifier a minute behind still accepts a fresh document.
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, new DateTimeOffset(2022, 10, 13, 8, 57, 2, TimeSpan.Zero));

        Assert.Equal(Verdict.Affirming, result.Verdict);
    }

    [Fact]
    public void ChainCache_AHitStillChecksTheVerificationTime()
    {
        var verifier = new NitroVerifier();
        Assert.Equal(Verdict.Affirming, verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, NitroVectors.ValidAt).Verdict);

        var later = verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, NitroVectors.ValidAt.AddHours(3));

        Assert.StartsWith("cached:", Find(later, "certificate-chain").Reason, StringComparison.Ordinal);
        Assert.Equal(Verdict.Contraindicated, later.Verdict);
        Assert.StartsWith("expired:", Find(later, "cert-validity").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MaxAge_Exceeded_IsContraindicatedForFreshness()
    {
        var policy = new AppraisalPolicy { MaxAge = TimeSpan.FromMinutes(1) };
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.Valid), policy, NitroVectors.ValidAt);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith("too-old:", Find(result, "freshness").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MaxAge_Respected_IsAffirming()
    {
        var policy = new AppraisalPolicy { MaxAge = TimeSpan.FromMinutes(5) };
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.Valid), policy, NitroVectors.ValidAt);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(CheckStatus.Pass, Find(result, "freshness").Status);
    }

    [Fact]
    public void MaxAge_DocumentFromTheFuture_IsContraindicated()
    {
        var policy = new AppraisalPolicy { MaxAge = TimeSpan.FromHours(1) };
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.Valid), policy, NitroVectors.ValidAt.AddHours(-1));

        Assert.StartsWith("future:", Find(result, "freshness").Reason, StringComparison.Ordinal);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
    }

    [Fact]
    public void PinnedMeasurement_MatchingPcr0_IsAffirming_OtherIsContraindicated()
    {
        var verifier = new NitroVerifier();
        var pcr0 = verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, NitroVectors.ValidAt).Claims.Measurement!;

        var good = verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), new AppraisalPolicy { Measurements = [pcr0.ToUpperInvariant()] }, NitroVectors.ValidAt);
        var bad = verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), new AppraisalPolicy { Measurements = [new string('a', 96)] }, NitroVectors.ValidAt);

        Assert.Equal(Verdict.Affirming, good.Verdict);
        Assert.Equal(CheckStatus.Pass, Find(good, "measurement").Status);
        Assert.Equal(Verdict.Contraindicated, bad.Verdict);
        Assert.StartsWith("measurement-mismatch:", Find(bad, "measurement").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ExpectedPcrs_Match_OrMismatch()
    {
        var verifier = new NitroVerifier();
        var claims = verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, NitroVectors.ValidAt).Claims;
        var registers = new Dictionary<string, string> { ["pcr0"] = claims.Extra["pcr0"], ["pcr8"] = claims.Extra["pcr8"], ["rtmr0"] = "ignored" };

        var good = verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), new AppraisalPolicy { ExpectedRegisters = registers }, NitroVectors.ValidAt);
        registers["pcr8"] = new string('0', 96);
        var bad = verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), new AppraisalPolicy { ExpectedRegisters = registers }, NitroVectors.ValidAt);
        var missing = verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), new AppraisalPolicy { ExpectedRegisters = new Dictionary<string, string> { ["pcr20"] = "00" } }, NitroVectors.ValidAt);

        Assert.Equal(CheckStatus.Pass, Find(good, "pcrs").Status);
        Assert.Equal(Verdict.Affirming, good.Verdict);
        Assert.StartsWith("pcr-mismatch: pcr8", Find(bad, "pcrs").Reason, StringComparison.Ordinal);
        Assert.Equal(Verdict.Contraindicated, bad.Verdict);
        Assert.StartsWith("pcr-missing:", Find(missing, "pcrs").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ExpectedNonce_AndUserData_AreCompared()
    {
        var verifier = new NitroVerifier();
        var claims = verifier.Verify(NitroVectors.Bundle(NitroVectors.Base64Doc), DefaultPolicy, NitroVectors.Base64At).Claims;
        var allowDebug = new AppraisalPolicy { AllowDebug = true, ExpectedNonce = claims.Nonce, ExpectedReportData = claims.ReportData };

        var good = verifier.Verify(NitroVectors.Bundle(NitroVectors.Base64Doc), allowDebug, NitroVectors.Base64At);
        var badNonce = verifier.Verify(NitroVectors.Bundle(NitroVectors.Base64Doc), allowDebug with { ExpectedNonce = "00" }, NitroVectors.Base64At);
        var badUserData = verifier.Verify(NitroVectors.Bundle(NitroVectors.Base64Doc), allowDebug with { ExpectedReportData = "0102" }, NitroVectors.Base64At);
        var noNonce = verifier.Verify(NitroVectors.Bundle(NitroVectors.DebugDoc), new AppraisalPolicy { AllowDebug = true, ExpectedNonce = "00" }, NitroVectors.DebugAt);

        Assert.Equal(Verdict.Affirming, good.Verdict);
        Assert.Equal(CheckStatus.Pass, Find(good, "nonce").Status);
        Assert.Equal(CheckStatus.Pass, Find(good, "user-data").Status);
        Assert.StartsWith("nonce-mismatch:", Find(badNonce, "nonce").Reason, StringComparison.Ordinal);
        Assert.Equal(Verdict.Contraindicated, badNonce.Verdict);
        Assert.StartsWith("user-data-mismatch:", Find(badUserData, "user-data").Reason, StringComparison.Ordinal);
        Assert.Equal(Verdict.Contraindicated, badUserData.Verdict);
        Assert.StartsWith("nonce-missing:", Find(noNonce, "nonce").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ChainCache_SecondVerification_UsesTheCache()
    {
        var verifier = new NitroVerifier();
        var first = verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, NitroVectors.ValidAt);
        var second = verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, NitroVectors.ValidAt);

        Assert.Equal(1, verifier.CachedChains);
        Assert.Equal(Verdict.Affirming, first.Verdict);
        Assert.Equal(Verdict.Affirming, second.Verdict);
        Assert.StartsWith("cached:", Find(second, "certificate-chain").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ChainCache_DoesNotAcceptATamperedDocument()
    {
        var verifier = new NitroVerifier();
        Assert.Equal(Verdict.Affirming, verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, NitroVectors.ValidAt).Verdict);

        var tampered = NitroVectors.Read("negative/nitro_pcr0_bitflip.bin");
        var result = verifier.Verify(NitroVectors.Bundle(tampered), DefaultPolicy, NitroVectors.ValidAt);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, Find(result, "signature").Status);
    }

    [Fact]
    public void ChainCache_Disabled_StillVerifies()
    {
        var verifier = new NitroVerifier(0);
        Assert.Equal(Verdict.Affirming, verifier.Verify(NitroVectors.Bundle(NitroVectors.Valid), DefaultPolicy, NitroVectors.ValidAt).Verdict);
        Assert.Equal(0, verifier.CachedChains);
    }

    [Fact]
    public void PolicyWithoutNitro_IsContraindicated()
    {
        var policy = new AppraisalPolicy { AllowedTees = new HashSet<TeeType> { TeeType.SevSnp } };
        var result = new NitroVerifier().Verify(NitroVectors.Bundle(NitroVectors.Valid), policy, NitroVectors.ValidAt);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, Find(result, "tee-type").Status);
    }

    [Fact]
    public void WrongEvidenceType_IsContraindicated()
    {
        var result = new NitroVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, NitroVectors.Valid, []), DefaultPolicy, NitroVectors.ValidAt);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
    }

    [Fact]
    public void Type_IsNitro() => Assert.Equal(TeeType.Nitro, new NitroVerifier().Type);
}
