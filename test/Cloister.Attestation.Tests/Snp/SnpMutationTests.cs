using Cloister.Attestation.Snp;
using static Cloister.Attestation.Tests.Snp.SnpVectors;

namespace Cloister.Attestation.Tests.Snp;

/// <summary>
/// Every byte of the signed region and the signature of every positive sample, flipped with a fixed-seed mask:
/// never affirming or warning, never an exception, and always a signature or format failure.
/// </summary>
public sealed class SnpMutationTests
{
    public static TheoryData<string, string, string, int> PositiveSamples() => new()
    {
        { "virteesev_report_milan.bin", "virteesev_vcek_milan.der", "2024-06-01", 0 },
        { "gosevguest_attestation.bin", "gosevguest_vcek.testcer", "2024-06-01", 0 },
        { "trustee_test-report.bin", "trustee_test-vcek.der", "2024-06-01", 0 },
        { "trustee_test-vlek-report.bin", "trustee_test-vlek.der", "2025-06-01", 0 },
        { "trustee_e2e_genoa_report_reconstructed.bin", "trustee_e2e_genoa_vcek.der", "2026-01-01", 0 },
        { "routex_oak_turin_v5_report.bin", "routex_vcek-chain-turin.pem", "2026-01-01", 0 },
        { "trustee_az-snp-vtpm_hcl-report.bin", "trustee_az-snp-vtpm_vcek.pem", "2024-06-01", 0x20 },
    };

    [Theory]
    [MemberData(nameof(PositiveSamples))]
    public void EveryFlippedByteOfTheSignedRegionAndSignature_IsNeverAccepted(string report, string certificate, string at, int reportOffset)
    {
        var original = Read(report);
        var certificates = new[] { Read(certificate) };
        var time = DateTimeOffset.Parse(at + "T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        // The policy that accepts the unmutated sample, so only the mutation can make it fail.
        var policy = new AppraisalPolicy { AllowDebug = true, MaxVmpl = 3 };
        var verifier = new SnpVerifier();
        Assert.Equal(Verdict.Affirming, verifier.Verify(new EvidenceBundle(TeeType.SevSnp, original, certificates), policy, time).Verdict);

        var random = new Random(0x5EB5);
        var mutated = (byte[])original.Clone();
        // 0x000..0x29F is signed; 0x2A0..0x32F holds R and S (their high bytes must be zero).
        for (var position = reportOffset; position < reportOffset + 0x330; position++)
        {
            var mask = (byte)random.Next(1, 256);
            mutated[position] ^= mask;
            var result = verifier.Verify(new EvidenceBundle(TeeType.SevSnp, mutated, certificates), policy, time);
            mutated[position] ^= mask;

            Assert.True(result.Verdict == Verdict.Contraindicated, $"{report}: flip at 0x{position - reportOffset:X3} gave {result.Verdict}");
            Assert.DoesNotContain(result.Checks, c => c.Name == "verifier-error");
            var failed = Failed(result);
            Assert.True(
                failed.Contains("report-signature") || failed.Contains("format") || failed.Contains("reserved-fields"),
                $"{report}: flip at 0x{position - reportOffset:X3} failed only {string.Join(",", failed)}");
        }
    }
}
