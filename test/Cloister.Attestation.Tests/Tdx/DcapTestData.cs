using System.Text.Json;
using Cloister.Attestation.Tdx;

namespace Cloister.Attestation.Tests.Tdx;

/// <summary>Loads the shared vectors and pins the times EXPECTED.md gives.</summary>
internal static class DcapTestData
{
    public static readonly AppraisalPolicy DefaultPolicy = new();

    public static byte[] Read(string relative) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "vectors", relative));

    public static DateTimeOffset At(string date) => DateTimeOffset.Parse(date + "T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The hex CRLs of a dcap-qvl collateral bundle, as separate DER files.</summary>
    public static List<byte[]> CrlsFromBundle(string relative)
    {
        using var document = JsonDocument.Parse(Read(relative));
        return
        [
            Convert.FromHexString(document.RootElement.GetProperty("root_ca_crl").GetString()!),
            Convert.FromHexString(document.RootElement.GetProperty("pck_crl").GetString()!),
        ];
    }

    public static AttestationResult VerifyTdx(string quote, string? collateral, string at, AppraisalPolicy? policy = null)
        => new TdxVerifier().Verify(
            new EvidenceBundle(TeeType.Tdx, Read(quote), [], collateral is null ? null : [Read(collateral)]),
            policy ?? DefaultPolicy,
            At(at));

    public static AttestationResult VerifySgx(string quote, string? collateral, string at, AppraisalPolicy? policy = null)
        => new SgxVerifier().Verify(
            new EvidenceBundle(TeeType.Sgx, Read(quote), [], collateral is null ? null : [Read(collateral)]),
            policy ?? DefaultPolicy,
            At(at));

    public static Check CheckOf(AttestationResult result, string name) => Assert.Single(result.Checks, c => c.Name == name);

    public static string Describe(AttestationResult result)
        => $"{result.Verdict}: " + string.Join(" | ", result.Checks.Select(c => $"{c.Name}={c.Status}/{c.Impact} {c.Reason}"));
}
