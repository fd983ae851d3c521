using System.Text;
using System.Text.Json;
using Cloister.Attestation.Policy;

namespace Cloister.Attestation.Tests.Core;

/// <summary>The canonical encoding a signed result's "policyDigest" covers (docs/attestation.md, "The policy digest").</summary>
public sealed class AppraisalPolicyDigestTests
{
    // docs/attestation.md quotes this text: keep the two equal.
    private const string DefaultCanonical =
        """{"affirmingTcbStatuses":["UpToDate"],"allowDebug":false,"allowMigrationAgent":false,"allowSmt":true,"allowedProducts":[],"allowedSigners":["vcek","vlek"],"allowedTees":["nitro","sev-snp","sgx","tdx"],"expectedHostData":null,"expectedNonce":null,"expectedRegisters":{},"expectedReportData":null,"id":"default","maxAgeSeconds":null,"maxVmpl":0,"measurements":[],"minimumTcb":{},"requireSeptVeDisable":false,"warningTcbStatuses":["ConfigurationAndSWHardeningNeeded","ConfigurationNeeded","SWHardeningNeeded"]}""";

    private const string Plain = """
        {"id":"payments","allowedTees":["sev-snp","tdx"],"measurements":["aa01","bb02"],"expectedRegisters":{"rtmr0":"0a","pcr8":"0b"},
         "minimumTcb":{"snp":8,"bootloader":3},"maxAgeSeconds":300,"expectedNonce":"0102","allowedProducts":["Milan"]}
        """;

    // The same policy: other member order, comments, trailing commas, upper-case hex and register names, a repeated and
    // reordered list, and defaults spelled out.
    private const string Respelled = """
        // payments, respelled
        {
          "allowedProducts": ["Milan", "Milan"],
          "expectedNonce": "0102",
          "maxAgeSeconds": 300,
          "minimumTcb": { "bootloader": 3, "snp": 8 },
          "expectedRegisters": { "PCR8": "0B", "RTMR0": "0A" },
          "measurements": ["BB02", "aa01", "AA01"],
          "allowedTees": ["tdx", "sev-snp"],
          "allowDebug": false, /* the default */
          "maxVmpl": 0,
          "warningTcbStatuses": ["SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded"],
          "id": "payments",
        }
        """;

    [Fact]
    public void DefaultPolicy_CanonicalEncoding_IsRfc8785OfTheFullForm()
    {
        Assert.Equal(DefaultCanonical, Encoding.UTF8.GetString(AppraisalPolicyJson.Canonicalize(new AppraisalPolicy())));
        Assert.Equal(
            "sha-256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(DefaultCanonical))),
            AppraisalPolicyJson.Digest(new AppraisalPolicy()));
    }

    [Fact]
    public void TwoSpellingsOfOnePolicy_HaveOneDigest()
    {
        var plain = Parse(Plain);
        var respelled = Parse(Respelled);
        var inCode = new AppraisalPolicy
        {
            Id = "payments",
            AllowedTees = new HashSet<TeeType> { TeeType.Tdx, TeeType.SevSnp },
            Measurements = ["BB02", "aa01"],
            ExpectedRegisters = new Dictionary<string, string> { ["pcr8"] = "0B", ["rtmr0"] = "0a" },
            MinimumTcb = new Dictionary<string, int> { ["bootloader"] = 3, ["snp"] = 8 },
            MaxAge = TimeSpan.FromMinutes(5),
            ExpectedNonce = "0102",
            AllowedProducts = new HashSet<string> { "Milan" },
        };

        Assert.Equal(AppraisalPolicyJson.Canonicalize(plain), AppraisalPolicyJson.Canonicalize(respelled));
        Assert.Equal(AppraisalPolicyJson.Canonicalize(plain), AppraisalPolicyJson.Canonicalize(inCode));
        Assert.Equal(AppraisalPolicyJson.Digest(plain), AppraisalPolicyJson.Digest(respelled));
        Assert.Equal(AppraisalPolicyJson.Digest(new AppraisalPolicy()), AppraisalPolicyJson.Digest(Parse("{}")));
        Assert.Equal(AppraisalPolicyJson.Digest(new AppraisalPolicy()), AppraisalPolicyJson.Digest(Parse("""{"id":"default","maxAgeSeconds":null}""")));
    }

    [Fact]
    public void EveryChangedField_ChangesTheDigest()
    {
        var basis = Parse(Plain);
        var changed = new Dictionary<string, AppraisalPolicy>
        {
            ["id"] = basis with { Id = "payments2" },
            ["allowedTees"] = basis with { AllowedTees = new HashSet<TeeType> { TeeType.SevSnp } },
            ["measurements"] = basis with { Measurements = ["aa01", "bb03"] },
            ["expectedRegisters"] = basis with { ExpectedRegisters = new Dictionary<string, string> { ["rtmr0"] = "0a", ["pcr9"] = "0b" } },
            ["allowDebug"] = basis with { AllowDebug = true },
            ["allowMigrationAgent"] = basis with { AllowMigrationAgent = true },
            ["maxVmpl"] = basis with { MaxVmpl = 1 },
            ["allowSmt"] = basis with { AllowSmt = false },
            ["requireSeptVeDisable"] = basis with { RequireSeptVeDisable = true },
            ["minimumTcb"] = basis with { MinimumTcb = new Dictionary<string, int> { ["snp"] = 9, ["bootloader"] = 3 } },
            ["affirmingTcbStatuses"] = basis with { AffirmingTcbStatuses = new HashSet<string> { "UpToDate", "OutOfDate" } },
            ["warningTcbStatuses"] = basis with { WarningTcbStatuses = new HashSet<string> { "SWHardeningNeeded" } },
            ["maxAgeSeconds"] = basis with { MaxAge = TimeSpan.FromSeconds(301) },
            ["expectedReportData"] = basis with { ExpectedReportData = "00" },
            ["expectedHostData"] = basis with { ExpectedHostData = "00" },
            ["expectedNonce"] = basis with { ExpectedNonce = "0103" },
            ["allowedSigners"] = basis with { AllowedSigners = new HashSet<string> { "vcek" } },
            ["allowedProducts"] = basis with { AllowedProducts = new HashSet<string> { "Genoa" } },
        };
        using var full = JsonDocument.Parse(AppraisalPolicyJson.Canonicalize(basis));
        Assert.Equal(full.RootElement.EnumerateObject().Select(m => m.Name).Order(StringComparer.Ordinal), changed.Keys.Order(StringComparer.Ordinal));

        var digests = changed.Values.Select(AppraisalPolicyJson.Digest).Append(AppraisalPolicyJson.Digest(basis)).ToList();

        Assert.Equal(digests.Count, digests.Distinct(StringComparer.Ordinal).Count());
        Assert.All(digests, d => Assert.Matches("^sha-256:[0-9a-f]{64}$", d));
    }

    [Fact]
    public void Strings_AreEscapedAsRfc8785Says()
    {
        var policy = Parse("""{"id":"a\"b\\c é<>&'+/"}""");

        var canonical = Encoding.UTF8.GetString(AppraisalPolicyJson.Canonicalize(policy));

        Assert.Contains("\"id\":\"a\\\"b\\\\c é<>&'+/\"", canonical, StringComparison.Ordinal);
    }

    [Fact]
    public void ALoneSurrogateEscape_IsAnErrorValue_NotAnException()
    {
        foreach (var json in new[] { """{"id":"a\ud800b"}""", """{"allowedTees":["\udc00"]}""", """{"\ud800":1}""" })
        {
            Assert.False(AppraisalPolicyJson.TryParse(json, out _, out var error));
            Assert.StartsWith("policy: a string is not valid Unicode", error, StringComparison.Ordinal);
        }
    }

    private static AppraisalPolicy Parse(string json)
    {
        Assert.True(AppraisalPolicyJson.TryParse(json, out var policy, out var error), error);
        return policy;
    }
}
