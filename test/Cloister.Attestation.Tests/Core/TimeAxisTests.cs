using System.Globalization;
using System.Security.Cryptography;
using Cloister.Attestation.Simulated;
using static Cloister.Attestation.Tests.Tdx.DcapTestData;

namespace Cloister.Attestation.Tests.Core;

/// <summary>
/// Every TEE type along the time axis, through the facade every product path uses: at a time where the evidence is
/// good it gets its expected verdict; verified before it could exist (evidence from the future: before its timestamp or
/// its signing certificate's start), after its leaf certificate expired, or after the policy's maximum age, it is
/// contraindicated by a time check, whatever the policy's maximum age says.
/// </summary>
public sealed class TimeAxisTests : IDisposable
{
    private static readonly DateTimeOffset SimulatedIssuedAt = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    // The checks that judge time, per verifier (docs/attestation.md): certificate windows and evidence timestamps.
    private static readonly string[] TimeChecks = ["cert-validity", "pck-chain", "collateral", "freshness"];

    private readonly ECDsa _attesterKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly AttestationVerifier _verifier;

    public TimeAxisTests() => _verifier = AttestationVerifiers.CreateDefault(_attesterKey);

    public void Dispose() => _attesterKey.Dispose();

    public static TheoryData<string, string, Verdict> InsideTheWindow() => new()
    {
        { "sev-snp", "2024-06-01T00:00:00Z", Verdict.Affirming },
        { "tdx", "2025-07-01T00:00:00Z", Verdict.Affirming },
        { "sgx", "2025-07-01T00:00:00Z", Verdict.Warning },
        { "nitro", "2022-10-13T09:00:00Z", Verdict.Affirming },
        { "nitro", "2022-10-13T11:58:00Z", Verdict.Affirming },
        { "simulated", "2026-01-15T12:00:30Z", Verdict.Affirming },
    };

    /// <summary>The verification time lies before the evidence could have been produced.</summary>
    public static TheoryData<string, string> FromTheFuture() => new()
    {
        { "sev-snp", "2023-01-01T00:00:00Z" },            // the VCEK is valid from 2023-04-03
        { "tdx", "2025-01-01T00:00:00Z" },                // the PCK certificate is valid from 2025-02-06, the collateral from 2025-06-19
        { "sgx", "2023-01-01T00:00:00Z" },                // the PCK certificate is valid from 2023-09-20
        { "nitro", "1990-01-01T00:00:00Z" },              // issued 2022-10-13T08:58:02Z
        { "nitro", "2022-10-13T08:50:00Z" },              // 8 minutes before the timestamp, before the leaf
        { "nitro", "2022-10-13T08:52:00Z" },              // 6 minutes before the timestamp (clock skew allows 5)
        { "simulated", "2026-01-15T11:58:00Z" },          // issued 12:00:00
    };

    /// <summary>The verification time lies after the leaf certificate (or the collateral) stopped being valid.</summary>
    public static TheoryData<string, string> AfterTheLeafExpired() => new()
    {
        { "sev-snp", "2030-06-01T00:00:00Z" },            // the VCEK expired 2030-04-03
        { "tdx", "2032-03-01T00:00:00Z" },                // the PCK certificate expired 2032-02-06
        { "tdx", "2025-08-01T00:00:00Z" },                // the collateral's nextUpdate was 2025-07-19
        { "sgx", "2030-10-01T00:00:00Z" },                // the PCK certificate expired 2030-09-20
        { "nitro", "2022-10-13T12:00:00Z" },              // the leaf expired 11:58:02, three hours after issue
        { "nitro", "2026-01-01T00:00:00Z" },              // a captured document replayed years later
    };

    [Theory]
    [MemberData(nameof(InsideTheWindow))]
    public void InsideTheWindow_GetsItsVerdict_AndNoTimeCheckFails(string tee, string at, Verdict expected)
    {
        var result = Verify(tee, at);

        Assert.True(result.Verdict == expected, Describe(result));
        Assert.DoesNotContain(result.Checks, c => TimeChecks.Contains(c.Name) && c.Status == CheckStatus.Fail);
    }

    [Theory]
    [MemberData(nameof(FromTheFuture))]
    public void EvidenceFromTheFuture_IsContraindicated_WhateverTheMaxAge(string tee, string at)
    {
        foreach (var maxAge in new TimeSpan?[] { null, TimeSpan.FromDays(3650) })
        {
            var result = Verify(tee, at, maxAge);

            Assert.True(result.Verdict == Verdict.Contraindicated, Describe(result));
            Assert.Contains(result.Checks, c => TimeChecks.Contains(c.Name) && c.Status == CheckStatus.Fail);
        }
    }

    [Theory]
    [MemberData(nameof(AfterTheLeafExpired))]
    public void AfterTheLeafExpired_IsContraindicated_UnderTheDefaultPolicy(string tee, string at)
    {
        var result = Verify(tee, at);

        Assert.True(result.Verdict == Verdict.Contraindicated, Describe(result));
        Assert.Contains(result.Checks, c => TimeChecks.Contains(c.Name) && c.Status == CheckStatus.Fail);
    }

    [Theory]
    [InlineData("nitro", "2022-10-13T09:00:00Z", 60)]       // issued 08:58:02, two minutes before
    [InlineData("simulated", "2026-01-15T13:00:00Z", 300)]  // issued an hour before
    public void OlderThanTheMaxAge_IsContraindicatedForFreshness(string tee, string at, int maxAgeSeconds)
    {
        var result = Verify(tee, at, TimeSpan.FromSeconds(maxAgeSeconds));

        Assert.True(result.Verdict == Verdict.Contraindicated, Describe(result));
        Assert.Equal(CheckStatus.Fail, Assert.Single(result.Checks, c => c.Name == "freshness").Status);
    }

    private AttestationResult Verify(string tee, string at, TimeSpan? maxAge = null)
    {
        var (bundle, policy) = Evidence(tee);
        return _verifier.Verify(bundle, policy with { MaxAge = maxAge }, DateTimeOffset.Parse(at, CultureInfo.InvariantCulture));
    }

    private (EvidenceBundle Bundle, AppraisalPolicy Policy) Evidence(string tee) => tee switch
    {
        "sev-snp" => (new EvidenceBundle(TeeType.SevSnp, Read("sev-snp/virteesev_report_milan.bin"), [Read("sev-snp/virteesev_vcek_milan.der")]), new AppraisalPolicy()),
        "tdx" => (new EvidenceBundle(TeeType.Tdx, Read("tdx/dcapqvl_tdx_quote"), [], [Read("tdx/dcapqvl_tdx_quote_collateral.json")]), new AppraisalPolicy()),
        "sgx" => (new EvidenceBundle(TeeType.Sgx, Read("sgx/dcapqvl_sgx_quote"), [], [Read("sgx/dcapqvl_sgx_quote_collateral.json")]), new AppraisalPolicy()),
        "nitro" => (new EvidenceBundle(TeeType.Nitro, Read("nitro/evervault_valid-attestation-doc-bytes"), []), new AppraisalPolicy()),

        // Simulated evidence has no certificate, so it has no leaf to expire: its time is its own timestamp.
        "simulated" => (
            new EvidenceBundle(TeeType.Simulated, new SimulatedAttester(_attesterKey).CreateEvidence(new byte[48], [], [], SimulatedIssuedAt), []),
            new AppraisalPolicy { AllowedTees = new HashSet<TeeType> { TeeType.Simulated } }),
        _ => throw new ArgumentOutOfRangeException(nameof(tee), tee, "unknown TEE"),
    };
}
