namespace Cloister.Attestation.Tests;

public sealed class ModelTests
{
    [Fact]
    public void Verdict_IsTheWorstImpact()
    {
        var claims = new AttestationClaims { Tee = TeeType.SevSnp };
        Assert.Equal(Verdict.Affirming, AttestationResult.From(claims, [Check.Pass("a"), Check.NotEvaluated("b", "measurement not pinned")]).Verdict);
        Assert.Equal(Verdict.Warning, AttestationResult.From(claims, [Check.Pass("a"), Check.NotEvaluated("tcb-status", "no collateral", Verdict.Warning)]).Verdict);
        Assert.Equal(Verdict.Contraindicated, AttestationResult.From(claims, [Check.Warn("a", "x"), Check.Fail("debug", "debug")]).Verdict);
    }

    [Fact]
    public void NoChecks_IsContraindicated()
        => Assert.Equal(Verdict.Contraindicated, AttestationResult.From(new AttestationClaims { Tee = TeeType.Nitro }, []).Verdict);

    [Fact]
    public void DefaultPolicy_RefusesSimulatedAndDebug()
    {
        var policy = new AppraisalPolicy();
        Assert.DoesNotContain(TeeType.Simulated, policy.AllowedTees);
        Assert.False(policy.AllowDebug);
        Assert.Equal(0, policy.MaxVmpl);
    }
}
