using Cloister.Attestation.Tdx;
using static Cloister.Attestation.Tests.Tdx.DcapTestData;

namespace Cloister.Attestation.Tests.Tdx;

/// <summary>The TDX and SGX rows of vectors/EXPECTED.md under the default policy, at the times it gives.</summary>
public sealed class DcapExpectedRowsTests
{
    [Fact]
    public void DcapQvlTdxQuote_WithCollateral_IsAffirmingUpToDate()
    {
        var result = VerifyTdx("tdx/dcapqvl_tdx_quote", "tdx/dcapqvl_tdx_quote_collateral.json", "2025-07-01");

        Assert.True(result.Verdict == Verdict.Affirming, Describe(result));
        Assert.Equal("UpToDate", result.Claims.TcbStatus);
        Assert.Empty(result.Claims.AdvisoryIds);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "collateral").Status);
        Assert.Contains("70 trailing bytes", CheckOf(result, "quote-structure").Reason, StringComparison.Ordinal);
        Assert.Equal("b0c06f000000", result.Claims.Extra["fmspc"]);
        Assert.Equal(96, result.Claims.Measurement!.Length);
        Assert.Equal(96, result.Claims.Extra["rtmr3"].Length);
        Assert.False(result.Claims.Debug);
    }

    [Fact]
    public void DcapQvlTdxQuoteOutdated_NoMatchingTcbLevel_IsContraindicated()
    {
        var result = VerifyTdx("tdx/dcapqvl_tdx_quote_outdated", "tdx/dcapqvl_tdx_quote_outdated_collateral.json", "2026-03-01");

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        var tcb = CheckOf(result, "tcb-status");
        Assert.Equal(CheckStatus.Fail, tcb.Status);
        Assert.Contains("no matching TCB level", tcb.Reason, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "quote-signature").Status);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "collateral").Status);
    }

    [Fact]
    public void GoTdxGuestV5Sample_WithOutdatedCollateral_IsAffirmingUpToDate()
    {
        var result = VerifyTdx("tdx/gotdxguest_quote_v5_sample.dat", "tdx/dcapqvl_tdx_quote_outdated_collateral.json", "2026-03-01");

        Assert.True(result.Verdict == Verdict.Affirming, Describe(result));
        Assert.Equal("UpToDate", result.Claims.TcbStatus);
        Assert.Equal("5", result.Claims.Extra["quote_version"]);
        Assert.True(result.Claims.Extra.ContainsKey("mrservicetd"));
    }

    [Fact]
    public void GoTdxGuestSprE4_NoCollateral_IsWarningWithTrailingBytesTolerated()
    {
        var result = VerifyTdx("tdx/gotdxguest_tdx_prod_quote_SPR_E4.dat", null, "2024-01-01");

        Assert.True(result.Verdict == Verdict.Warning, Describe(result));
        var tcb = CheckOf(result, "tcb-status");
        Assert.Equal(CheckStatus.NotEvaluated, tcb.Status);
        Assert.Equal(Verdict.Warning, tcb.Impact);
        Assert.Null(result.Claims.TcbStatus);
        Assert.Contains("39 trailing bytes", CheckOf(result, "quote-structure").Reason, StringComparison.Ordinal);
        Assert.Equal("false", result.Claims.Extra["sept_ve_disable"]);
    }

    [Fact]
    public void TrusteeTdxQuote4_DebugTd_IsContraindicated()
    {
        var result = VerifyTdx("tdx/trustee_tdx_quote_4.dat", null, "2025-11-01");

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, CheckOf(result, "debug").Status);
        Assert.True(result.Claims.Debug);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "quote-signature").Status);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "pck-chain").Status);
    }

    /// <summary>
    /// The row's CRLs come from the 2026 collateral: its PCK CRL is issued 2026-02-18, after the row's time, so the
    /// collateral check also fails (reported, not bent); the TCB itself is OutOfDate.
    /// </summary>
    [Fact]
    public void TrusteeTdxQuote6_WithSeparateCollateralFiles_IsContraindicatedOutOfDate()
    {
        var items = new List<byte[]>
        {
            Read("tdx/trustee_tcbInfo.json"),
            Read("tdx/trustee_enclaveIdentity.json"),
            Read("tdx/dcapqvl_tcb_signing_chain_2025.pem"),
        };
        items.AddRange(CrlsFromBundle("tdx/dcapqvl_tdx_quote_outdated_collateral.json"));

        var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, Read("tdx/trustee_tdx_quote_6.dat"), [], items), DefaultPolicy, At("2025-11-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal("OutOfDate", result.Claims.TcbStatus);
        var tcb = CheckOf(result, "tcb-status");
        Assert.Equal(CheckStatus.Fail, tcb.Status);
        Assert.Equal(Verdict.Contraindicated, tcb.Impact);
        Assert.Contains("PCK CRL not current", CheckOf(result, "collateral").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void DcapQvlSgxQuote_WithCollateral_IsWarningWithAdvisories()
    {
        var result = VerifySgx("sgx/dcapqvl_sgx_quote", "sgx/dcapqvl_sgx_quote_collateral.json", "2025-07-01");

        Assert.True(result.Verdict == Verdict.Warning, Describe(result));
        Assert.Equal("ConfigurationAndSWHardeningNeeded", result.Claims.TcbStatus);
        Assert.Equal(["INTEL-SA-00289", "INTEL-SA-00615"], result.Claims.AdvisoryIds.Order(StringComparer.Ordinal));
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "collateral").Status);
        Assert.Equal(64, result.Claims.Measurement!.Length);
        Assert.Equal(64, result.Claims.Extra["mrsigner"].Length);
        Assert.False(result.Claims.Debug);
    }

    [Fact]
    public void TrusteeOcclumSgxQuote_DebugEnclave_IsContraindicated()
    {
        var result = VerifySgx("sgx/trustee_occlum_quote.dat", null, "2024-01-01");

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, CheckOf(result, "debug").Status);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "quote-signature").Status);
        Assert.True(result.Claims.Debug);
    }

    public static TheoryData<string, string> NegativeVectors() => new()
    {
        { "tdx/negative/tdx_reportdata_bitflip.dat", "quote-signature" },
        { "tdx/negative/tdx_mrtd_bitflip.dat", "quote-signature" },
        { "tdx/negative/tdx_quote_sig_bitflip.dat", "quote-signature" },
        { "tdx/negative/tdx_attest_key_bitflip.dat", "quote-signature,qe-binding" },
        { "tdx/negative/tdx_qe_report_bitflip.dat", "qe-report-signature" },
        { "tdx/negative/tdx_qe_auth_data_bitflip.dat", "qe-binding" },
        { "tdx/negative/tdx_truncated.dat", "quote-structure" },
        { "tdx/negative/tdx_bad_version.dat", "quote-structure" },
    };

    [Theory]
    [MemberData(nameof(NegativeVectors))]
    public void NegativeVector_IsContraindicatedWithTheManifestReason(string file, string failingChecks)
    {
        var result = VerifyTdx(file, "tdx/dcapqvl_tdx_quote_collateral.json", "2025-07-01");

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        foreach (var name in failingChecks.Split(','))
        {
            Assert.Equal(CheckStatus.Fail, CheckOf(result, name).Status);
        }
    }

    [Fact]
    public void NegativeManifest_ListsEveryTdxNegativeFile()
    {
        using var manifest = System.Text.Json.JsonDocument.Parse(Read("negative_manifest.json"));
        var listed = manifest.RootElement.EnumerateArray()
            .Select(e => e.GetProperty("file").GetString()!)
            .Where(f => f.StartsWith("tdx/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        var tested = NegativeVectors().Select(row => (string)row[0]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(listed, tested);
    }
}
