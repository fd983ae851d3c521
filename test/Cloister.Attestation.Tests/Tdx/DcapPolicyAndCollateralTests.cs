using System.Text.Json;
using System.Text.Json.Nodes;
using Cloister.Attestation.Tdx;
using static Cloister.Attestation.Tests.Tdx.DcapTestData;

namespace Cloister.Attestation.Tests.Tdx;

/// <summary>Policy knobs, collateral given as separate files, stale or tampered collateral, the chain cache.</summary>
public sealed class DcapPolicyAndCollateralTests
{
    private const string TdxQuote = "tdx/dcapqvl_tdx_quote";
    private const string TdxCollateral = "tdx/dcapqvl_tdx_quote_collateral.json";

    [Fact]
    public void SeptVeDisableRequired_QuoteWithoutIt_IsContraindicated()
    {
        var result = VerifyTdx("tdx/gotdxguest_tdx_prod_quote_SPR_E4.dat", null, "2024-01-01", new AppraisalPolicy { RequireSeptVeDisable = true });

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, CheckOf(result, "sept-ve-disable").Status);
    }

    [Fact]
    public void AzureTdQuote_WithoutSeptVeDisable_PassesTheDefaultPolicy()
    {
        var result = VerifyTdx("tdx/trustee_az-tdx-vtpm_td-quote.bin", null, "2025-11-01");

        Assert.Equal(Verdict.Warning, result.Verdict);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "sept-ve-disable").Status);
    }

    [Fact]
    public void DebugTd_AllowedByPolicy_IsOnlyWarning()
    {
        var result = VerifyTdx("tdx/trustee_tdx_quote_4.dat", null, "2025-11-01", new AppraisalPolicy { AllowDebug = true });

        Assert.Equal(Verdict.Warning, result.Verdict);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "debug").Status);
    }

    [Fact]
    public void PinnedMeasurementRtmrAndReportData_Match_IsAffirming()
    {
        var claims = VerifyTdx(TdxQuote, TdxCollateral, "2025-07-01").Claims;
        var policy = new AppraisalPolicy
        {
            Measurements = ["00", claims.Measurement!.ToUpperInvariant()],
            ExpectedRegisters = new Dictionary<string, string> { ["rtmr0"] = claims.Extra["rtmr0"], ["rtmr3"] = claims.Extra["rtmr3"] },
            ExpectedReportData = claims.ReportData,
        };

        var result = VerifyTdx(TdxQuote, TdxCollateral, "2025-07-01", policy);

        Assert.True(result.Verdict == Verdict.Affirming, Describe(result));
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "measurement").Status);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "rtmrs").Status);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "report-data").Status);
    }

    [Theory]
    [InlineData("measurement")]
    [InlineData("rtmrs")]
    [InlineData("report-data")]
    public void PinnedValue_Mismatch_IsContraindicated(string check)
    {
        var zeros = new string('0', 96);
        var policy = check switch
        {
            "measurement" => new AppraisalPolicy { Measurements = [zeros] },
            "rtmrs" => new AppraisalPolicy { ExpectedRegisters = new Dictionary<string, string> { ["rtmr1"] = zeros } },
            _ => new AppraisalPolicy { ExpectedReportData = "d447b55d" },
        };

        var result = VerifyTdx(TdxQuote, TdxCollateral, "2025-07-01", policy);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, CheckOf(result, check).Status);
    }

    [Fact]
    public void SgxTcbStatus_FollowsThePolicySets()
    {
        var lenient = new AppraisalPolicy { AffirmingTcbStatuses = new HashSet<string> { "UpToDate", "ConfigurationAndSWHardeningNeeded" } };
        var strict = new AppraisalPolicy { WarningTcbStatuses = new HashSet<string>() };

        Assert.Equal(Verdict.Affirming, VerifySgx("sgx/dcapqvl_sgx_quote", "sgx/dcapqvl_sgx_quote_collateral.json", "2025-07-01", lenient).Verdict);
        Assert.Equal(Verdict.Contraindicated, VerifySgx("sgx/dcapqvl_sgx_quote", "sgx/dcapqvl_sgx_quote_collateral.json", "2025-07-01", strict).Verdict);
    }

    [Fact]
    public void TeeNotAllowedByPolicy_IsContraindicated()
    {
        var result = VerifyTdx(TdxQuote, TdxCollateral, "2025-07-01", new AppraisalPolicy { AllowedTees = new HashSet<TeeType> { TeeType.SevSnp } });

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, CheckOf(result, "tee-type").Status);
    }

    [Fact]
    public void QuoteOfTheOtherTee_IsContraindicatedAsStructure()
    {
        var sgxToTdx = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, Read("sgx/dcapqvl_sgx_quote"), []), DefaultPolicy, At("2025-07-01"));
        var tdxToSgx = new SgxVerifier().Verify(new EvidenceBundle(TeeType.Sgx, Read(TdxQuote), []), DefaultPolicy, At("2025-07-01"));
        var wrongType = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Nitro, Read(TdxQuote), []), DefaultPolicy, At("2025-07-01"));

        foreach (var result in new[] { sgxToTdx, tdxToSgx, wrongType })
        {
            Assert.Equal(Verdict.Contraindicated, result.Verdict);
            Assert.Equal("quote-structure", Assert.Single(result.Checks).Name);
        }
    }

    [Fact]
    public void CollateralAfterItsWindow_IsContraindicated()
    {
        var result = VerifyTdx(TdxQuote, TdxCollateral, "2025-08-01");

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        var reason = CheckOf(result, "collateral").Reason!;
        Assert.Contains("TCB info not current", reason, StringComparison.Ordinal);
        Assert.Contains("QE identity not current", reason, StringComparison.Ordinal);
        Assert.Contains("PCK CRL not current", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CollateralOfAnotherFmspc_IsContraindicated()
    {
        var result = VerifyTdx(TdxQuote, "tdx/dcapqvl_tdx_quote_outdated_collateral.json", "2026-03-01");

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Contains("FMSPC", CheckOf(result, "tcb-status").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TamperedTcbInfo_SignatureFails()
    {
        var bundle = JsonNode.Parse(Read(TdxCollateral))!.AsObject();
        bundle["tcb_info"] = bundle["tcb_info"]!.GetValue<string>().Replace("\"tcbEvaluationDataNumber\":17", "\"tcbEvaluationDataNumber\":18", StringComparison.Ordinal);
        var tampered = JsonSerializer.SerializeToUtf8Bytes(bundle);

        var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, Read(TdxQuote), [], [tampered]), DefaultPolicy, At("2025-07-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Contains("TCB info signature invalid", CheckOf(result, "collateral").Reason, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.NotEvaluated, CheckOf(result, "tcb-status").Status);
    }

    [Fact]
    public void V5Quote_WithSeparateTcbInfoAndQeIdentityFiles_IsAffirmingUpToDate()
    {
        using var outdated = JsonDocument.Parse(Read("tdx/dcapqvl_tdx_quote_outdated_collateral.json"));
        var qeIdentity = outdated.RootElement.GetProperty("qe_identity").GetString()!;
        var qeSignature = outdated.RootElement.GetProperty("qe_identity_signature").GetString()!;
        var qeResponse = System.Text.Encoding.UTF8.GetBytes($"{{\"enclaveIdentity\":{qeIdentity},\"signature\":\"{qeSignature}\"}}");
        var items = new List<byte[]>
        {
            Read("tdx/gotdxguest_sample_tcbinfo_response_v5"),
            qeResponse,
            Read("tdx/dcapqvl_tcb_signing_chain_2025.pem"),
        };
        items.AddRange(CrlsFromBundle("tdx/dcapqvl_tdx_quote_outdated_collateral.json"));

        var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, Read("tdx/gotdxguest_quote_v5_sample.dat"), [], items), DefaultPolicy, At("2026-02-20"));

        Assert.True(result.Verdict == Verdict.Affirming, Describe(result));
        Assert.Equal("UpToDate", result.Claims.TcbStatus);
    }

    [Fact]
    public void SprE4Quote_With2023CollateralFilesAndDerCrls_HasNoMatchingTcbLevel()
    {
        var items = new List<byte[]>
        {
            Read("tdx/gotdxguest_sample_tcbInfo_response"),
            Read("tdx/gotdxguest_sample_qeIdentity_response"),
            Read("tdx/gotdxguest_tcbinfo_issuer_chain.pem"),
            Read("tdx/gotdxguest_pckcrl"),
            Read("tdx/gotdxguest_rootcrl.der"),
        };

        var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, Read("tdx/gotdxguest_tdx_prod_quote_SPR_E4.dat"), [], items), DefaultPolicy, At("2023-07-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.True(CheckOf(result, "collateral").Status == CheckStatus.Pass, Describe(result));
        Assert.Contains("no matching TCB level", CheckOf(result, "tcb-status").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void StalePckCrl_IsContraindicated()
    {
        var items = new List<byte[]>
        {
            Read("tdx/gotdxguest_sample_tcbInfo_response"),
            Read("tdx/gotdxguest_sample_qeIdentity_response"),
            Read("tdx/gotdxguest_tcbinfo_issuer_chain.pem"),
            Read("tdx/gotdxguest_pckcrl"),
            Read("tdx/gotdxguest_rootcrl.der"),
        };

        var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, Read("tdx/gotdxguest_tdx_prod_quote_SPR_E4.dat"), [], items), DefaultPolicy, At("2023-09-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Contains("PCK CRL not current", CheckOf(result, "collateral").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CachedPckChain_IsStillCheckedForValidityAtEachTime()
    {
        const string Quote = "tdx/gotdxguest_tdx_prod_quote_SPR_E4.dat";
        Assert.Equal(CheckStatus.Pass, CheckOf(VerifyTdx(Quote, null, "2024-01-01"), "pck-chain").Status);
        Assert.Equal(CheckStatus.Pass, CheckOf(VerifyTdx(Quote, null, "2024-01-02"), "pck-chain").Status);
        Assert.InRange(DcapChainVerifier.CachedCount, 1, DcapChainVerifier.MaxCachedChains);

        var expired = VerifyTdx(Quote, null, "2030-01-01");
        var early = VerifyTdx(Quote, null, "2020-01-01");

        Assert.Equal(CheckStatus.Fail, CheckOf(expired, "pck-chain").Status);
        Assert.Equal(CheckStatus.Fail, CheckOf(early, "pck-chain").Status);
        Assert.Equal(Verdict.Contraindicated, expired.Verdict);
    }

    [Fact]
    public void TcbSigningChain_GivenAsCertificates_IsUsedForSeparateCollateral()
    {
        var items = new List<byte[]> { Read("tdx/trustee_tcbInfo.json"), Read("tdx/trustee_enclaveIdentity.json") };
        items.AddRange(CrlsFromBundle("tdx/dcapqvl_tdx_quote_outdated_collateral.json"));
        var evidence = new EvidenceBundle(TeeType.Tdx, Read("tdx/trustee_tdx_quote_6.dat"), [Read("tdx/dcapqvl_tcb_signing_chain_2025.pem")], items);

        var result = new TdxVerifier().Verify(evidence, DefaultPolicy, At("2025-11-01"));

        Assert.Equal("OutOfDate", result.Claims.TcbStatus);
        Assert.DoesNotContain("signer", CheckOf(result, "collateral").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoTcbInfos_AreRefused()
    {
        var result = new TdxVerifier().Verify(
            new EvidenceBundle(TeeType.Tdx, Read(TdxQuote), [], [Read(TdxCollateral), Read("tdx/trustee_tcbInfo.json")]), DefaultPolicy, At("2025-07-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Contains("second", CheckOf(result, "collateral").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTcbSigningChain_FailsTheCollateral()
    {
        var items = new List<byte[]> { Read("tdx/trustee_tcbInfo.json"), Read("tdx/trustee_enclaveIdentity.json") };

        var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, Read("tdx/trustee_tdx_quote_6.dat"), [], items), DefaultPolicy, At("2025-11-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Contains("no signing certificate", CheckOf(result, "collateral").Reason, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.NotEvaluated, CheckOf(result, "tcb-status").Status);
    }

    [Fact]
    public void CollateralSignedUnderAPckChain_IsRefused()
    {
        var quote = Read(TdxQuote);
        int pem = quote.AsSpan().IndexOf("-----BEGIN"u8);
        var pckChain = System.Text.Encoding.ASCII.GetString(quote.AsSpan(pem)).TrimEnd('\0');
        var bundle = JsonNode.Parse(Read(TdxCollateral))!.AsObject();
        bundle["tcb_info_issuer_chain"] = pckChain;
        var forged = JsonSerializer.SerializeToUtf8Bytes(bundle);

        var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, quote, [], [forged]), DefaultPolicy, At("2025-07-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Contains("no signing certificate (Intel SGX TCB Signing) for the TCB info", CheckOf(result, "collateral").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ConcurrentVerifications_AllAffirm()
    {
        var results = new AttestationResult[64];
        Parallel.For(0, results.Length, i => results[i] = VerifyTdx(TdxQuote, TdxCollateral, "2025-07-01"));

        Assert.All(results, r => Assert.Equal(Verdict.Affirming, r.Verdict));
    }
}
