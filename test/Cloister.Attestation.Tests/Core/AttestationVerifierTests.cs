using System.Security.Cryptography;
using Cloister.Attestation.Simulated;

namespace Cloister.Attestation.Tests.Core;

public sealed class AttestationVerifierTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose() => _key.Dispose();

    [Fact]
    public void Dispatch_GoesToTheVerifierForTheType_AndRecordsTeeAllowed()
    {
        var facade = new AttestationVerifier([new FaultInjectingVerifier(TeeType.Nitro, _ => throw new InvalidOperationException("must not be called")), new SimulatedVerifier(_key)]);
        var policy = new AppraisalPolicy { AllowedTees = new HashSet<TeeType> { TeeType.Simulated } };

        var result = facade.Verify(new EvidenceBundle(TeeType.Simulated, Evidence(), []), policy, At);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal("tee-allowed", result.Checks[0].Name);
        Assert.Equal(CheckStatus.Pass, result.Checks[0].Status);
        Assert.Contains(result.Checks, c => c.Name == "simulated-allowed" && c.Status == CheckStatus.Pass);
        Assert.Equal([TeeType.Nitro, TeeType.Simulated], facade.SupportedTypes.Order());
    }

    [Fact]
    public void TeeNotInPolicy_IsContraindicated_WithoutCallingTheVerifier()
    {
        var called = false;
        var facade = new AttestationVerifier([new FaultInjectingVerifier(TeeType.Tdx, e => { called = true; return AttestationResult.From(new AttestationClaims { Tee = e.Type }, [Check.Pass("x")]); })]);
        var policy = new AppraisalPolicy { Id = "snp-only", AllowedTees = new HashSet<TeeType> { TeeType.SevSnp } };

        var result = facade.Verify(new EvidenceBundle(TeeType.Tdx, [1, 2, 3], []), policy, At);

        Assert.False(called);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        var check = Assert.Single(result.Checks);
        Assert.Equal("tee-allowed", check.Name);
        Assert.Equal(CheckStatus.Fail, check.Status);
        Assert.Contains("snp-only", check.Reason, StringComparison.Ordinal);
        Assert.Equal(TeeType.Tdx, result.Claims.Tee);
    }

    [Fact]
    public void TypeWithoutVerifier_IsContraindicated_ByTeeSupported()
    {
        var facade = new AttestationVerifier([new SimulatedVerifier(_key)]);
        var result = facade.Verify(new EvidenceBundle(TeeType.SevSnp, new byte[1184], []), new AppraisalPolicy(), At);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal("tee-supported", Assert.Single(result.Checks).Name);
    }

    [Fact]
    public void ThrowingVerifier_BecomesAnInternalCheck_NotAnException()
    {
        var facade = new AttestationVerifier([new FaultInjectingVerifier(TeeType.Nitro, _ => throw new ArgumentOutOfRangeException("offset", "secret-ish detail"))]);

        var result = facade.Verify(new EvidenceBundle(TeeType.Nitro, [0xa0], []), new AppraisalPolicy(), At);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        var check = Assert.Single(result.Checks);
        Assert.Equal("internal", check.Name);
        Assert.Contains(nameof(ArgumentOutOfRangeException), check.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-ish", check.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void InconsistentVerifierResults_BecomeInternalChecks()
    {
        var policy = new AppraisalPolicy();
        var wrongTee = new AttestationVerifier([new FaultInjectingVerifier(TeeType.Sgx, _ => AttestationResult.From(new AttestationClaims { Tee = TeeType.Tdx }, [Check.Pass("x")]))]);
        Assert.Equal("internal", Assert.Single(wrongTee.Verify(new EvidenceBundle(TeeType.Sgx, [1], []), policy, At).Checks).Name);

        var noChecks = new AttestationVerifier([new FaultInjectingVerifier(TeeType.Sgx, _ => new AttestationResult(Verdict.Affirming, new AttestationClaims { Tee = TeeType.Sgx }, []))]);
        var result = noChecks.Verify(new EvidenceBundle(TeeType.Sgx, [1], []), policy, At);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal("internal", Assert.Single(result.Checks).Name);

        var understated = new AttestationVerifier([new FaultInjectingVerifier(TeeType.Sgx, _ => new AttestationResult(Verdict.Affirming, new AttestationClaims { Tee = TeeType.Sgx }, [Check.Fail("debug", "debug")]))]);
        Assert.Equal(Verdict.Contraindicated, understated.Verify(new EvidenceBundle(TeeType.Sgx, [1], []), policy, At).Verdict);
    }

    [Fact]
    public void WarningFromTheVerifier_IsKept()
    {
        var facade = new AttestationVerifier([new FaultInjectingVerifier(TeeType.Tdx, _ => AttestationResult.From(
            new AttestationClaims { Tee = TeeType.Tdx }, [Check.Pass("quote-signature"), Check.NotEvaluated("tcb-status", "no collateral", Verdict.Warning)]))]);
        var result = facade.Verify(new EvidenceBundle(TeeType.Tdx, [1], []), new AppraisalPolicy(), At);
        Assert.Equal(Verdict.Warning, result.Verdict);
        Assert.Equal(["tee-allowed", "quote-signature", "tcb-status"], result.Checks.Select(c => c.Name));
    }

    [Fact]
    public void TwoVerifiersForOneType_IsAProgrammingError()
        => Assert.Throws<ArgumentException>(() => new AttestationVerifier([new SimulatedVerifier(_key), new SimulatedVerifier(_key)]));

    private byte[] Evidence() => new SimulatedAttester(_key).CreateEvidence(new byte[48], [], [], At);

    /// <summary>Fault injection: a verifier whose behaviour the test dictates (throws, lies about its TEE, returns no checks).</summary>
    private sealed class FaultInjectingVerifier(TeeType type, Func<EvidenceBundle, AttestationResult> verify) : IEvidenceVerifier
    {
        public TeeType Type => type;

        public AttestationResult Verify(EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at) => verify(evidence);
    }
}
