namespace Cloister.Attestation.Tests.Snp;

/// <summary>The shared SEV-SNP vectors, copied to the test output directory.</summary>
internal static class SnpVectors
{
    public static readonly DateTimeOffset At20240601 = new(2024, 6, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset At20250601 = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset At20260101 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset At20260601 = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "vectors", "sev-snp");

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(Directory, name));

    public static EvidenceBundle Bundle(string report, params string[] certificates)
        => new(TeeType.SevSnp, Read(report), certificates.Select(Read).ToArray());

    public static AttestationResult Verify(string report, string certificate, DateTimeOffset at, AppraisalPolicy? policy = null)
        => new Cloister.Attestation.Snp.SnpVerifier().Verify(Bundle(report, certificate), policy ?? new AppraisalPolicy(), at);

    public static Check Check(AttestationResult result, string name) => Assert.Single(result.Checks, c => c.Name == name);

    /// <summary>The failed checks' names, for asserting exactly why a result is contraindicated.</summary>
    public static string[] Failed(AttestationResult result)
        => result.Checks.Where(c => c.Status == CheckStatus.Fail).Select(c => c.Name).ToArray();
}
