using Cloister.Attestation.Snp;
using static Cloister.Attestation.Tests.Snp.SnpVectors;

namespace Cloister.Attestation.Tests.Snp;

/// <summary>Every SEV-SNP row of the shared vectors' EXPECTED.md under the default policy (times as EXPECTED.md pins them).</summary>
public sealed class SnpExpectedRowsTests
{
    [Fact]
    public void VirteeMilanV2_WithItsVcek_IsAffirming()
    {
        var result = Verify("virteesev_report_milan.bin", "virteesev_vcek_milan.der", At20240601);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(CheckStatus.Pass, Check(result, "report-signature").Status);
        Assert.Equal(CheckStatus.Pass, Check(result, "vcek-chain").Status);
        Assert.Equal(CheckStatus.Pass, Check(result, "tcb-extensions").Status);
        Assert.Equal(CheckStatus.Pass, Check(result, "chip-id").Status);
        Assert.Equal(CheckStatus.NotEvaluated, Check(result, "measurement").Status);
        Assert.Equal(Verdict.Affirming, Check(result, "measurement").Impact);
        Assert.Equal("bl=3 tee=0 snp=8 ucode=115", result.Claims.Tcb);
        Assert.False(result.Claims.Debug);
        Assert.Equal(96, result.Claims.Measurement!.Length);
        Assert.Equal(128, result.Claims.ReportData!.Length);
        Assert.Equal("vcek", result.Claims.Extra["signer"]);
        Assert.Equal("Milan", result.Claims.Extra["product"]);
        Assert.Equal("0", result.Claims.Extra["vmpl"]);
        Assert.Equal("2", result.Claims.Extra["version"]);
        Assert.StartsWith("d49554ec717f4e5b", result.Claims.Extra["chip_id"], StringComparison.Ordinal);
        Assert.Equal(64, result.Claims.Extra["host_data"].Length);
    }

    [Fact]
    public void GoSevGuestDebugReport_IsContraindicatedForDebugOnly()
    {
        var result = Verify("gosevguest_attestation.bin", "gosevguest_vcek.testcer", At20240601);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(["debug"], Failed(result));
        Assert.StartsWith("debug:", Check(result, "debug").Reason, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Pass, Check(result, "report-signature").Status);
        Assert.True(result.Claims.Debug);
        Assert.StartsWith("0102030405", result.Claims.ReportData, StringComparison.Ordinal);
    }

    [Fact]
    public void GoSevGuestDebugReport_IsAffirmingWhenThePolicyAllowsDebug()
    {
        var result = Verify("gosevguest_attestation.bin", "gosevguest_vcek.testcer", At20240601, new AppraisalPolicy { AllowDebug = true });

        Assert.Equal(Verdict.Affirming, result.Verdict);
    }

    [Fact]
    public void TrusteeMilanV2_WithItsVcek_IsAffirmingAndReportsProvisionalFirmware()
    {
        var result = Verify("trustee_test-report.bin", "trustee_test-vcek.der", At20240601);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(CheckStatus.NotEvaluated, Check(result, "provisional-firmware").Status);
    }

    [Fact]
    public void TrusteeVlekV3_At20250601_IsContraindicatedForVmplOne()
    {
        var result = Verify("trustee_test-vlek-report.bin", "trustee_test-vlek.der", At20250601);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(["vmpl"], Failed(result));
        Assert.StartsWith("vmpl: VMPL 1 > 0", Check(result, "vmpl").Reason, StringComparison.Ordinal);
        Assert.Equal("vlek", result.Claims.Extra["signer"]);
        Assert.Equal("1", result.Claims.Extra["vmpl"]);
        Assert.Equal(CheckStatus.Pass, Check(result, "report-signature").Status);
    }

    [Fact]
    public void TrusteeVlekV3_At20250601_IsAffirmingWhenThePolicyAcceptsVmplOne()
    {
        var result = Verify("trustee_test-vlek-report.bin", "trustee_test-vlek.der", At20250601, new AppraisalPolicy { MaxVmpl = 1 });

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal("Milan", result.Claims.Extra["product"]);
        Assert.Contains("amazonaws", result.Claims.Extra["csp_id"], StringComparison.Ordinal);
    }

    [Fact]
    public void TrusteeVlekV3_At20260601_IsContraindicatedBecauseTheVlekExpired()
    {
        var result = Verify("trustee_test-vlek-report.bin", "trustee_test-vlek.der", At20260601, new AppraisalPolicy { MaxVmpl = 1 });

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(["cert-validity"], Failed(result));
        Assert.StartsWith("expired: the VLEK expired at 2025-12-10", Check(result, "cert-validity").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TrusteeVlekV3_At20260601_UnderTheDefaultPolicy_FailsExpiryAndVmpl()
    {
        var result = Verify("trustee_test-vlek-report.bin", "trustee_test-vlek.der", At20260601);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(["cert-validity", "vmpl"], Failed(result));
    }

    [Fact]
    public void GenoaV3_WithItsVcek_IsAffirming()
    {
        var result = Verify("trustee_e2e_genoa_report_reconstructed.bin", "trustee_e2e_genoa_vcek.der", At20260101);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal("Genoa", result.Claims.Extra["product"]);
        Assert.Equal("3", result.Claims.Extra["version"]);
    }

    [Fact]
    public void TurinV5_WithItsChainPem_IsAffirmingWithTheTurinTcbLayout()
    {
        var result = Verify("routex_oak_turin_v5_report.bin", "routex_vcek-chain-turin.pem", At20260101);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal("fmc=0 bl=1 tee=0 snp=2 ucode=71", result.Claims.Tcb);
        Assert.Equal("Turin", result.Claims.Extra["product"]);
        Assert.Equal("0x67", result.Claims.Extra["platform_info"]);
        Assert.Equal(CheckStatus.Pass, Check(result, "chip-id").Status);
    }

    [Fact]
    public void AzureHclReport_WithItsChainPem_IsAffirmingAndBindsTheRuntimeClaims()
    {
        var result = Verify("trustee_az-snp-vtpm_hcl-report.bin", "trustee_az-snp-vtpm_vcek.pem", At20240601);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(CheckStatus.Pass, Check(result, "runtime-claims").Status);
        Assert.Equal("true", result.Claims.Extra["azure_hcl"]);
        Assert.Equal(result.Claims.ReportData![..64], result.Claims.Extra["runtime_claims_hash"]);
    }

    [Fact]
    public void AzureHclReport_WithAlteredRuntimeClaims_IsContraindicated()
    {
        var bytes = Read("trustee_az-snp-vtpm_hcl-report.bin");
        bytes[0x4D4 + 20] ^= 0x01; // a byte of the claims JSON, outside the signed SNP report
        var bundle = new EvidenceBundle(TeeType.SevSnp, bytes, [Read("trustee_az-snp-vtpm_vcek.pem")]);

        var result = new SnpVerifier().Verify(bundle, new AppraisalPolicy(), At20240601);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(["runtime-claims"], Failed(result));
        Assert.StartsWith("runtime-claims-unbound:", Check(result, "runtime-claims").Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("trustee_test-vcek-invalid-legacy.der")]
    [InlineData("trustee_test-vcek-invalid-new.der")]
    public void TrusteeReport_WithAnAlteredVcek_IsContraindicatedBecauseTheAskDidNotSignIt(string vcek)
    {
        var result = Verify("trustee_test-report.bin", vcek, At20240601);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, Check(result, "vcek-chain").Status);
        Assert.StartsWith("signature-invalid: the VCEK is not signed by the SEV-Milan key", Check(result, "vcek-chain").Reason, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.NotEvaluated, Check(result, "report-signature").Status);
    }

    [Fact]
    public void TurinReport_WithAnotherTurinVcek_IsContraindicatedForTheReportSignature()
    {
        var result = Verify("routex_oak_turin_v5_report.bin", "virteesev_vcek_turin.der", At20260101);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Pass, Check(result, "vcek-chain").Status);
        Assert.Equal(CheckStatus.Fail, Check(result, "report-signature").Status);
        Assert.StartsWith("signature-invalid:", Check(result, "report-signature").Reason, StringComparison.Ordinal);
        Assert.Contains("report-signature", Failed(result));
    }
}
