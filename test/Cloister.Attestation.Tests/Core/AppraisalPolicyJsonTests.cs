using Cloister.Attestation.Policy;

namespace Cloister.Attestation.Tests.Core;

public sealed class AppraisalPolicyJsonTests
{
    private const string FullPolicy = """
        {
          "id": "prod-2026",
          "allowedTees": ["sev-snp", "nitro", "simulated"],
          "measurements": ["AABBCC", "ddeeff"],
          "expectedRegisters": { "PCR0": "0A0B", "rtmr1": "ff" },
          "allowDebug": true,
          "allowMigrationAgent": true,
          "maxVmpl": 2,
          "allowSmt": false,
          "requireSeptVeDisable": true,
          "minimumTcb": { "snp": 22, "microcode": 213 },
          "affirmingTcbStatuses": ["UpToDate", "SWHardeningNeeded"],
          "warningTcbStatuses": ["ConfigurationNeeded"],
          "maxAgeSeconds": 300,
          "expectedReportData": "D447B55D",
          "expectedHostData": "00FF",
          "expectedNonce": "0102",
          "allowedSigners": ["vcek"],
          "allowedProducts": ["Genoa", "Milan"]
        }
        """;

    [Fact]
    public void EmptyObject_GivesTheDefaultPolicy()
    {
        Assert.True(AppraisalPolicyJson.TryParse("{}", out var policy, out var error), error);
        Assert.Equal(AppraisalPolicyJson.Serialize(new AppraisalPolicy()), AppraisalPolicyJson.Serialize(policy));
        Assert.Equal("default", policy.Id);
        Assert.Equal([TeeType.SevSnp, TeeType.Tdx, TeeType.Sgx, TeeType.Nitro], policy.AllowedTees.Order());
        Assert.False(policy.AllowDebug);
        Assert.False(policy.AllowMigrationAgent);
        Assert.True(policy.AllowSmt);
        Assert.False(policy.RequireSeptVeDisable);
        Assert.Equal(0, policy.MaxVmpl);
        Assert.Null(policy.MaxAge);
        Assert.Empty(policy.Measurements);
        Assert.Equal(["UpToDate"], policy.AffirmingTcbStatuses);
        Assert.Equal(["ConfigurationAndSWHardeningNeeded", "ConfigurationNeeded", "SWHardeningNeeded"], policy.WarningTcbStatuses.Order(StringComparer.Ordinal));
        Assert.Equal(["vcek", "vlek"], policy.AllowedSigners.Order(StringComparer.Ordinal));
        Assert.Empty(policy.AllowedProducts);
    }

    [Fact]
    public void DefaultPolicy_SerializesAndParsesBackUnchanged()
    {
        var json = AppraisalPolicyJson.Serialize(new AppraisalPolicy());
        Assert.True(AppraisalPolicyJson.TryParse(json, out var policy, out var error), error);
        Assert.Equal(json, AppraisalPolicyJson.Serialize(policy));
        Assert.Contains("\"maxAgeSeconds\": null", json, StringComparison.Ordinal);
    }

    [Fact]
    public void FullPolicy_ParsesEveryField_AndRoundTrips()
    {
        Assert.True(AppraisalPolicyJson.TryParse(FullPolicy, out var policy, out var error), error);
        Assert.Equal("prod-2026", policy.Id);
        Assert.Equal([TeeType.SevSnp, TeeType.Nitro, TeeType.Simulated], policy.AllowedTees.Order());
        Assert.Equal(["aabbcc", "ddeeff"], policy.Measurements);
        Assert.Equal("0a0b", policy.ExpectedRegisters["pcr0"]);
        Assert.Equal("ff", policy.ExpectedRegisters["rtmr1"]);
        Assert.True(policy.AllowDebug);
        Assert.True(policy.AllowMigrationAgent);
        Assert.Equal(2, policy.MaxVmpl);
        Assert.False(policy.AllowSmt);
        Assert.True(policy.RequireSeptVeDisable);
        Assert.Equal(22, policy.MinimumTcb["snp"]);
        Assert.Equal(213, policy.MinimumTcb["microcode"]);
        Assert.Equal(["SWHardeningNeeded", "UpToDate"], policy.AffirmingTcbStatuses.Order(StringComparer.Ordinal));
        Assert.Equal(["ConfigurationNeeded"], policy.WarningTcbStatuses);
        Assert.Equal(TimeSpan.FromMinutes(5), policy.MaxAge);
        Assert.Equal("d447b55d", policy.ExpectedReportData);
        Assert.Equal("00ff", policy.ExpectedHostData);
        Assert.Equal("0102", policy.ExpectedNonce);
        Assert.Equal(["vcek"], policy.AllowedSigners);
        Assert.Equal(["Genoa", "Milan"], policy.AllowedProducts.Order(StringComparer.Ordinal));

        var written = AppraisalPolicyJson.Serialize(policy, indented: false);
        Assert.True(AppraisalPolicyJson.TryParse(written, out var again, out error), error);
        Assert.Equal(written, AppraisalPolicyJson.Serialize(again, indented: false));
        Assert.Contains("\"allowedTees\":[\"sev-snp\",\"nitro\",\"simulated\"]", written, StringComparison.Ordinal);
    }

    [Fact]
    public void HandWrittenFile_WithCommentsAndTrailingCommas_Loads()
    {
        var path = Path.Combine(Path.GetTempPath(), $"policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """
            {
              // accept VMPL 1 (the trustee VLEK vector)
              "id": "vmpl1",
              "maxVmpl": 1,
            }
            """);
        try
        {
            Assert.True(AppraisalPolicyJson.TryLoad(path, out var policy, out var error), error);
            Assert.Equal(1, policy.MaxVmpl);
            Assert.Equal("vmpl1", policy.Id);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MissingFile_IsAnErrorValue()
    {
        Assert.False(AppraisalPolicyJson.TryLoad(Path.Combine(Path.GetTempPath(), $"absent-{Guid.NewGuid():N}.json"), out var policy, out var error));
        Assert.Null(policy);
        Assert.StartsWith("policy: cannot read", error, StringComparison.Ordinal);
    }

    [Fact]
    public void NullMaxAgeAndExpectations_MeanNone()
    {
        Assert.True(AppraisalPolicyJson.TryParse("""{"maxAgeSeconds":null,"expectedReportData":null,"expectedNonce":null}""", out var policy, out var error), error);
        Assert.Null(policy.MaxAge);
        Assert.Null(policy.ExpectedReportData);
        Assert.Null(policy.ExpectedNonce);
    }

    [Theory]
    [InlineData("[]", "policy")]
    [InlineData("{", "policy")]
    [InlineData("", "policy")]
    [InlineData("""{"maxVmp":1}""", "maxVmp")]
    [InlineData("""{"id":"a","id":"b"}""", "id")]
    [InlineData("""{"id":5}""", "id")]
    [InlineData("""{"id":""}""", "id")]
    [InlineData("""{"allowedTees":"tdx"}""", "allowedTees")]
    [InlineData("""{"allowedTees":["sev-snp","SEV-SNP"]}""", "allowedTees[1]")]
    [InlineData("""{"allowedTees":[1]}""", "allowedTees[0]")]
    [InlineData("""{"measurements":["xyz0"]}""", "measurements[0]")]
    [InlineData("""{"measurements":["00","abc"]}""", "measurements[1]")]
    [InlineData("""{"measurements":[""]}""", "measurements[0]")]
    [InlineData("""{"measurements":{}}""", "measurements")]
    [InlineData("""{"expectedRegisters":[]}""", "expectedRegisters")]
    [InlineData("""{"expectedRegisters":{"rtmr4":"00"}}""", "expectedRegisters.rtmr4")]
    [InlineData("""{"expectedRegisters":{"pcr32":"00"}}""", "expectedRegisters.pcr32")]
    [InlineData("""{"expectedRegisters":{"pcr0":1}}""", "expectedRegisters.pcr0")]
    [InlineData("""{"expectedRegisters":{"pcr0":"00","PCR0":"00"}}""", "expectedRegisters.PCR0")]
    [InlineData("""{"allowDebug":"false"}""", "allowDebug")]
    [InlineData("""{"allowMigrationAgent":0}""", "allowMigrationAgent")]
    [InlineData("""{"maxVmpl":4}""", "maxVmpl")]
    [InlineData("""{"maxVmpl":-1}""", "maxVmpl")]
    [InlineData("""{"maxVmpl":1.5}""", "maxVmpl")]
    [InlineData("""{"allowSmt":null}""", "allowSmt")]
    [InlineData("""{"requireSeptVeDisable":"yes"}""", "requireSeptVeDisable")]
    [InlineData("""{"minimumTcb":{"ucode":1}}""", "minimumTcb.ucode")]
    [InlineData("""{"minimumTcb":{"snp":256}}""", "minimumTcb.snp")]
    [InlineData("""{"minimumTcb":{"snp":"8"}}""", "minimumTcb.snp")]
    [InlineData("""{"minimumTcb":[]}""", "minimumTcb")]
    [InlineData("""{"affirmingTcbStatuses":["UptoDate"]}""", "affirmingTcbStatuses[0]")]
    [InlineData("""{"warningTcbStatuses":["OutOfDate",null]}""", "warningTcbStatuses[1]")]
    [InlineData("""{"warningTcbStatuses":["UpToDate"]}""", "warningTcbStatuses")]
    [InlineData("""{"maxAgeSeconds":0}""", "maxAgeSeconds")]
    [InlineData("""{"maxAgeSeconds":"60"}""", "maxAgeSeconds")]
    [InlineData("""{"maxAgeSeconds":1e30}""", "maxAgeSeconds")]
    [InlineData("""{"expectedReportData":"zz"}""", "expectedReportData")]
    [InlineData("""{"expectedReportData":"0x00"}""", "expectedReportData")]
    [InlineData("""{"expectedNonce":12}""", "expectedNonce")]
    [InlineData("""{"allowedSigners":["ask"]}""", "allowedSigners[0]")]
    [InlineData("""{"allowedSigners":"vcek"}""", "allowedSigners")]
    [InlineData("""{"allowedProducts":["milan"]}""", "allowedProducts[0]")]
    public void BadField_IsRefused_WithAMessageNamingIt(string json, string field)
    {
        Assert.False(AppraisalPolicyJson.TryParse(json, out var policy, out var error));
        Assert.Null(policy);
        Assert.StartsWith(field + ":", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Utf8WithByteOrderMark_Parses()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. "{\"id\":\"bom\"}"u8];
        Assert.True(AppraisalPolicyJson.TryParse(bytes, out var policy, out var error), error);
        Assert.Equal("bom", policy.Id);
    }

    [Fact]
    public void OversizedPolicy_IsRefusedWithoutParsing()
    {
        var json = "{\"id\":\"" + new string('a', AppraisalPolicyJson.MaxPolicyBytes) + "\"}";
        Assert.False(AppraisalPolicyJson.TryParse(json, out _, out var error));
        Assert.StartsWith("policy:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TeeNames_RoundTripEveryType()
    {
        foreach (var type in Enum.GetValues<TeeType>())
        {
            Assert.True(TeeNames.TryParse(TeeNames.ToName(type), out var parsed));
            Assert.Equal(type, parsed);
        }

        Assert.False(TeeNames.TryParse("SevSnp", out _));
        Assert.False(TeeNames.TryParse(null, out _));
    }
}
