using System.Buffers.Binary;
using Cloister.Attestation.Snp;
using static Cloister.Attestation.Tests.Snp.SnpVectors;

namespace Cloister.Attestation.Tests.Snp;

/// <summary>Reserved ("must be zero") fields and the Azure HCL wrapper's framing.</summary>
public sealed class SnpFormatTests
{
    [Theory]
    [InlineData(0x04C, "reserved bytes at 0x04C must be zero")]
    [InlineData(0x188, "reserved bytes at 0x188 must be zero")] // CPUID bytes do not exist in v2
    [InlineData(0x19F, "reserved bytes at 0x188 must be zero")]
    [InlineData(0x1EB, "reserved bytes at 0x1EB must be zero")]
    [InlineData(0x1EF, "reserved bytes at 0x1EF must be zero")]
    [InlineData(0x1F8, "reserved bytes at 0x1F8 (mitigation vectors before v5) must be zero")]
    [InlineData(0x29F, "reserved bytes at 0x208 must be zero")]
    [InlineData(0x2A0 + 48, "reserved bytes at signature R high bytes must be zero")]
    [InlineData(0x2E8 + 71, "reserved bytes at signature S high bytes must be zero")]
    [InlineData(0x49F, "reserved bytes at 0x330 must be zero")]
    [InlineData(0x00B, "policy bits 26-63 must be zero")]
    [InlineData(0x04B, "signer info bits 5-31 must be zero")]
    public void NonZeroReservedByte_FailsReservedFieldsWithItsOffset(int offset, string reason)
    {
        var report = Read("virteesev_report_milan.bin");
        report[offset] ^= 0x80;

        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, report, [Read("virteesev_vcek_milan.der")]), new AppraisalPolicy(), At20240601);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal($"reserved-nonzero: {reason}", Check(result, "reserved-fields").Reason);
    }

    [Fact]
    public void ClearedPolicyBit17_FailsReservedFields()
    {
        var report = Read("virteesev_report_milan.bin");
        report[0x0A] &= 0xFD;

        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, report, [Read("virteesev_vcek_milan.der")]), new AppraisalPolicy(), At20240601);

        Assert.Equal("reserved-nonzero: policy bit 17 must be one", Check(result, "reserved-fields").Reason);
    }

    [Fact]
    public void TurinPlatformInfoBit6_IsTolerated()
    {
        var result = Verify("routex_oak_turin_v5_report.bin", "routex_vcek-chain-turin.pem", At20260101);

        Assert.Equal(CheckStatus.Pass, Check(result, "reserved-fields").Status);
    }

    [Fact]
    public void HclWithANonSnpReportType_IsAFormatFailure()
    {
        var hcl = Read("trustee_az-snp-vtpm_hcl-report.bin");
        BinaryPrimitives.WriteUInt32LittleEndian(hcl.AsSpan(0x4C0 + 8), 4);

        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, hcl, [Read("trustee_az-snp-vtpm_vcek.pem")]), new AppraisalPolicy(), At20240601);

        Assert.StartsWith("hcl: hardware report type 4", Check(result, "format").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void HclWithAClaimSizeBeyondTheInput_IsAFormatFailure()
    {
        var hcl = Read("trustee_az-snp-vtpm_hcl-report.bin");
        BinaryPrimitives.WriteUInt32LittleEndian(hcl.AsSpan(0x4C0 + 16), uint.MaxValue);

        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, hcl, [Read("trustee_az-snp-vtpm_vcek.pem")]), new AppraisalPolicy(), At20240601);

        Assert.StartsWith("hcl: runtime claims size", Check(result, "format").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void HclWithAnUnknownHashType_FailsTheRuntimeClaimsBinding()
    {
        var hcl = Read("trustee_az-snp-vtpm_hcl-report.bin");
        BinaryPrimitives.WriteUInt32LittleEndian(hcl.AsSpan(0x4C0 + 12), 9);

        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, hcl, [Read("trustee_az-snp-vtpm_vcek.pem")]), new AppraisalPolicy(), At20240601);

        Assert.Equal(["runtime-claims"], Failed(result));
        Assert.StartsWith("hash-type-unknown:", Check(result, "runtime-claims").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RawSnpReportFromInsideTheHclReport_VerifiesOnItsOwn()
    {
        var inner = Read("trustee_az-snp-vtpm_hcl-report.bin").AsSpan(0x20, 0x4A0).ToArray();

        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, inner, [Read("trustee_az-snp-vtpm_vcek.pem")]), new AppraisalPolicy(), At20240601);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.DoesNotContain(result.Checks, c => c.Name == "runtime-claims");
    }

    [Fact]
    public void Verifier_DeclaresSevSnp()
        => Assert.Equal(TeeType.SevSnp, new SnpVerifier().Type);
}
