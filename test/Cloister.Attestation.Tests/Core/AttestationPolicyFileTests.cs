using System.Security.Cryptography;
using Cloister.Attestation.Policy;
using Cloister.Attestation.Simulated;

namespace Cloister.Attestation.Tests.Core;

public sealed class AttestationPolicyFileTests
{
    private static readonly string Worker = new('a', 96);
    private static readonly string Function = new('b', 96);

    [Fact]
    public void Parse_ReadsEveryField_AndSerializeRoundTrips()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var json = Policy(key.ExportSubjectPublicKeyInfoPem(), $$"""[{ "measurement": "{{Worker.ToUpperInvariant()}}", "tenants": ["t1", "t2"] }, { "measurement": "*", "tenants": ["*"] }]""");

        Assert.True(AttestationPolicyFile.TryParse(json, out var policy, out var error), error);
        Assert.Equal(AttestationPolicyFile.EmbeddedDefaultMarker, policy.GeneratedBy);
        Assert.True(policy.AllowsSimulated);
        Assert.Equal(Worker, policy.Workers[0].Measurement);
        Assert.True(policy.Workers[0].Allows("t2"));
        Assert.False(policy.Workers[0].Allows("t3"));
        Assert.Same(policy.Workers[1], policy.FindWorker(new string('c', 96)));
        Assert.Equal([Function], policy.Functions["card-risk"]);

        Assert.True(AttestationPolicyFile.TryParse(policy.Serialize(), out var again, out error), error);
        Assert.Equal(policy.Serialize(), again.Serialize());
    }

    [Fact]
    public void SimulatedEvidence_PassesOnlyWhenThePolicyAllowsItAndNamesTheKey()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var evidence = new EvidenceBundle(TeeType.Simulated, new SimulatedAttester(key).CreateEvidence([1, 2, 3], [], [], DateTimeOffset.UtcNow), []);
        Assert.True(AttestationPolicyFile.TryParse(Policy(key.ExportSubjectPublicKeyInfoPem(), "[]"), out var allowing, out _));
        Assert.NotEqual(Verdict.Contraindicated, allowing.CreateVerifier().Verify(evidence, allowing.Appraisal, DateTimeOffset.UtcNow).Verdict);

        Assert.True(AttestationPolicyFile.TryParse(Policy(null, "[]"), out var keyless, out _));
        Assert.False(keyless.AllowsSimulated);
        Assert.Equal(Verdict.Contraindicated, keyless.CreateVerifier().Verify(evidence, keyless.Appraisal, DateTimeOffset.UtcNow).Verdict);
    }

    [Fact]
    public void AcceptWarnings_IsOffUnlessTheFileSaysSo_AndDecidesWhetherAWarningPasses()
    {
        Assert.True(AttestationPolicyFile.TryParse("""{"appraisal":{},"workers":[]}""", out var strict, out var error), error);
        Assert.True(AttestationPolicyFile.TryParse("""{"appraisal":{},"acceptWarnings":true,"workers":[]}""", out var lenient, out error), error);

        Assert.False(strict.AcceptWarnings);
        Assert.True(strict.Accepts(Verdict.Affirming));
        Assert.False(strict.Accepts(Verdict.Warning));
        Assert.False(strict.Accepts(Verdict.Contraindicated));
        Assert.True(lenient.Accepts(Verdict.Warning));
        Assert.False(lenient.Accepts(Verdict.Contraindicated));
        Assert.True(AttestationPolicyFile.TryParse(lenient.Serialize(), out var again, out error), error);
        Assert.True(again.AcceptWarnings);
    }

    [Theory]
    [InlineData("""{"appraisal":{},"workers":[],"extra":1}""", "unknown field 'extra'")]
    [InlineData("""{"workers":[]}""", "'appraisal' is required")]
    [InlineData("""{"appraisal":{}}""", "'workers' is required")]
    [InlineData("""{"appraisal":{"allowedTees":["sgx2"]},"workers":[]}""", "appraisal:")]
    [InlineData("""{"appraisal":{},"workers":[{"measurement":"abc","tenants":["*"]}]}""", "'workers[0].measurement'")]
    [InlineData("""{"appraisal":{},"workers":[{"measurement":"*","tenants":[]}]}""", "'workers[0].tenants'")]
    [InlineData("""{"appraisal":{},"workers":[],"functions":{"f":["00"]}}""", "'functions.f'")]
    [InlineData("""{"appraisal":{},"workers":[],"simulatedAttesterKey":"nope"}""", "'simulatedAttesterKey'")]
    [InlineData("""{"appraisal":{},"workers":[],"acceptWarnings":"yes"}""", "'acceptWarnings'")]
    [InlineData("""[1]""", "JSON object")]
    [InlineData("""{"appraisal":{},"workers":[],"generatedBy":"\ud800"}""", "not valid Unicode")]
    [InlineData("""{"appraisal":{},"workers":[{"measurement":"*","tenants":["\udc00"]}]}""", "not valid Unicode")]
    [InlineData("""{"appraisal":{},"workers":[],"functions":{"\ud800":["00"]}}""", "not valid Unicode")]
    public void Parse_RefusesWhatItDoesNotUnderstand_NamingTheField(string json, string expected)
    {
        Assert.False(AttestationPolicyFile.TryParse(json, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RefusesAPrivateKeyInPlaceOfThePublicOne()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.False(AttestationPolicyFile.TryParse(Policy(key.ExportPkcs8PrivateKeyPem(), "[]"), out _, out var error));
        Assert.Contains("public key", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryLoad_NamesTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"policy-{Guid.NewGuid():N}.json");
        Assert.False(AttestationPolicyFile.TryLoad(path, out _, out var missing));
        Assert.Contains(path, missing, StringComparison.Ordinal);
        File.WriteAllText(path, "{");
        try
        {
            Assert.False(AttestationPolicyFile.TryLoad(path, out _, out var broken));
            Assert.StartsWith(path, broken, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string Policy(string? simulatedKeyPem, string workers)
    {
        var key = simulatedKeyPem is null ? string.Empty : $"\"simulatedAttesterKey\": {System.Text.Json.JsonSerializer.Serialize(simulatedKeyPem)},";
        return $$"""
            {
              // the embedded default
              "generatedBy": "{{AttestationPolicyFile.EmbeddedDefaultMarker}}",
              "appraisal": { "id": "dev", "allowedTees": ["sev-snp", "simulated"] },
              {{key}}
              "workers": {{workers}},
              "functions": { "card-risk": ["{{Function}}"] },
            }
            """;
    }
}
