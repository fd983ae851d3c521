using Cloister.Attestation.Snp;
using static Cloister.Attestation.Tests.Snp.SnpVectors;

namespace Cloister.Attestation.Tests.Snp;

/// <summary>Policy-driven verdicts on the real Milan v2 report (S-N4, S-N11, S-N12 and the other reference rows).</summary>
public sealed class SnpPolicyTests
{
    private const string Report = "virteesev_report_milan.bin";
    private const string Vcek = "virteesev_vcek_milan.der";

    [Fact]
    public void PinnedMeasurement_WhenEqual_IsAffirmingWithAPass()
    {
        var measurement = Verify(Report, Vcek, At20240601).Claims.Measurement!;

        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { Measurements = ["00", measurement.ToUpperInvariant()] });

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(CheckStatus.Pass, Check(result, "measurement").Status);
    }

    [Fact]
    public void PinnedMeasurement_WhenDifferent_IsContraindicated()
    {
        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { Measurements = [new string('a', 96)] });

        Assert.Equal(["measurement"], Failed(result));
        Assert.StartsWith("measurement-mismatch:", Check(result, "measurement").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ExpectedHostData_WhenEqual_IsAffirmingWithAPass()
    {
        var hostData = Verify(Report, Vcek, At20240601).Claims.Extra["host_data"];

        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { ExpectedHostData = hostData });

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(CheckStatus.Pass, Check(result, "host-data").Status);
    }

    [Fact]
    public void ExpectedHostData_WhenDifferent_IsContraindicated()
    {
        var hostData = Verify(Report, Vcek, At20240601).Claims.Extra["host_data"];
        var other = (hostData[0] == 'f' ? "e" : "f") + hostData[1..];

        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { ExpectedHostData = other });

        Assert.Equal(["host-data"], Failed(result));
        Assert.StartsWith("host-data-mismatch:", Check(result, "host-data").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ExpectedHostData_NotRequested_IsNotEvaluatedAndHarmless()
    {
        var result = Verify(Report, Vcek, At20240601);

        Assert.Equal(CheckStatus.NotEvaluated, Check(result, "host-data").Status);
        Assert.Equal(Verdict.Affirming, result.Verdict);
    }

    [Fact]
    public void ExpectedReportData_WhenEqual_IsAffirming()
    {
        var reportData = Verify(Report, Vcek, At20240601).Claims.ReportData!;

        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { ExpectedReportData = reportData });

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(CheckStatus.Pass, Check(result, "report-data").Status);
    }

    [Fact]
    public void ExpectedReportData_WhenDifferent_IsANonceMismatch()
    {
        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { ExpectedReportData = "d447b55d" + new string('0', 120) });

        Assert.Equal(["report-data"], Failed(result));
        Assert.StartsWith("report-data-mismatch:", Check(result, "report-data").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ShortExpectedReportData_MatchesAPrefixFollowedByZeros()
    {
        var result = Verify("gosevguest_attestation.bin", "gosevguest_vcek.testcer", At20240601, new AppraisalPolicy { AllowDebug = true, ExpectedReportData = "0102030405" });

        Assert.Equal(Verdict.Affirming, result.Verdict);
    }

    [Theory]
    [InlineData("not hex")]
    [InlineData("abc")]
    [InlineData("")]
    public void MalformedExpectedReportData_FailsAsAPolicyError(string expected)
    {
        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { ExpectedReportData = expected });

        Assert.StartsWith("policy-invalid:", Check(result, "report-data").Reason, StringComparison.Ordinal);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
    }

    [Theory]
    [InlineData("snp", 9)]
    [InlineData("microcode", 0x74)]
    [InlineData("bootloader", 4)]
    public void MinimumTcbAboveTheReport_IsTcbTooLow(string component, int minimum)
    {
        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { MinimumTcb = new Dictionary<string, int> { [component] = minimum } });

        Assert.Equal(["tcb-minimum"], Failed(result));
        Assert.StartsWith($"tcb-too-low: REPORTED_TCB {component}", Check(result, "tcb-minimum").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MinimumTcbMetByTheReport_Passes()
    {
        var policy = new AppraisalPolicy { MinimumTcb = new Dictionary<string, int> { ["bootloader"] = 3, ["tee"] = 0, ["snp"] = 8, ["microcode"] = 0x73, ["fmc"] = 1 } };

        var result = Verify(Report, Vcek, At20240601, policy);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(CheckStatus.Pass, Check(result, "tcb-minimum").Status);
    }

    [Fact]
    public void MinimumTcbOnTurin_ChecksTheFmcComponent()
    {
        var policy = new AppraisalPolicy { MinimumTcb = new Dictionary<string, int> { ["fmc"] = 1 } };

        var result = Verify("routex_oak_turin_v5_report.bin", "routex_vcek-chain-turin.pem", At20260101, policy);

        Assert.Equal(["tcb-minimum"], Failed(result));
    }

    [Fact]
    public void UnknownMinimumTcbComponent_IsAPolicyError()
    {
        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { MinimumTcb = new Dictionary<string, int> { ["pcr"] = 1 } });

        Assert.StartsWith("policy-invalid:", Check(result, "tcb-minimum").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void SmtForbiddenByPolicy_RejectsAReportWhoseGuestPolicyAllowsSmt()
    {
        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { AllowSmt = false });

        Assert.Equal(["smt"], Failed(result));
    }

    [Fact]
    public void SignersLimitedToVcek_RejectTheVlekReport()
    {
        var policy = new AppraisalPolicy { MaxVmpl = 1, AllowedSigners = new HashSet<string> { "vcek" } };

        var result = Verify("trustee_test-vlek-report.bin", "trustee_test-vlek.der", At20250601, policy);

        Assert.Equal(["signer"], Failed(result));
        Assert.StartsWith("signer-not-allowed: vlek", Check(result, "signer").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ProductsLimitedToGenoa_RejectAMilanReport()
    {
        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { AllowedProducts = new HashSet<string> { "Genoa" } });

        Assert.Equal(["product"], Failed(result));
        Assert.StartsWith("product-not-allowed: Milan", Check(result, "product").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ProductsIncludingMilan_AcceptAMilanReport()
    {
        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { AllowedProducts = new HashSet<string> { "milan", "Genoa" } });

        Assert.Equal(Verdict.Affirming, result.Verdict);
    }

    [Fact]
    public void PolicyWithoutSevSnp_RejectsValidEvidence()
    {
        var result = Verify(Report, Vcek, At20240601, new AppraisalPolicy { AllowedTees = new HashSet<TeeType> { TeeType.Tdx } });

        Assert.Equal(["tee-allowed"], Failed(result));
    }

    [Fact]
    public void ReportWithAnotherMilanChipsVcek_FailsTheSignatureAndTheChipId()
    {
        var result = Verify(Report, "gosevguest_vcek.testcer", At20240601);

        Assert.Contains("report-signature", Failed(result));
        Assert.Contains("chip-id", Failed(result));
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
    }

    [Fact]
    public void TurinReportWithAMilanVcek_FailsTheSignatureAndTheProduct()
    {
        var result = Verify("routex_oak_turin_v5_report.bin", Vcek, At20260101);

        Assert.Contains("report-signature", Failed(result));
        Assert.StartsWith("product-mismatch: the report's CPUID says Turin", Check(result, "product").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenChainsAreNotAnchors_AMilanVcekBesideTheGenoaChainStillChainsToTheBuiltInMilanRoot()
    {
        var bundle = Bundle(Report, Vcek, "gosevguest_ask_ark_genoa.pem");

        var result = new SnpVerifier().Verify(bundle, new AppraisalPolicy(), At20240601);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Contains("SEV-Milan", Check(result, "vcek-chain").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void OnlyTheAskAndArkGiven_IsContraindicatedWithNoCertificate()
    {
        var result = new SnpVerifier().Verify(Bundle(Report, "gosevguest_ask_ark_milan.pem"), new AppraisalPolicy(), At20240601);

        Assert.StartsWith("no-certificate:", Check(result, "vcek-chain").Reason, StringComparison.Ordinal);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
    }

    [Fact]
    public void VcekBeforeItsValidity_IsNotYetValid()
    {
        var result = Verify(Report, Vcek, new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(["cert-validity"], Failed(result));
        Assert.StartsWith("not-yet-valid:", Check(result, "cert-validity").Reason, StringComparison.Ordinal);
    }
}
