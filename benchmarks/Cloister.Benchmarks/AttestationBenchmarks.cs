using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Cloister.Attestation;
using Cloister.Attestation.Nitro;
using Cloister.Attestation.Snp;
using Cloister.Attestation.Tdx;

namespace Cloister.Benchmarks;

/// <summary>
/// Verification time per evidence type on the shared vectors, with the whole certificate chain built and
/// checked (cache off, the baseline of each category) and with the chain already verified (the same
/// VCEK/PCK/leaf seen again). Goals: cached SEV-SNP ≤ 1 ms, cached Nitro ≤ 2 ms.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AttestationBenchmarks
{
    private static readonly AppraisalPolicy Policy = new();

    private readonly SnpVerifier _snpCached = new();
    private readonly SnpVerifier _snpUncached = new(chainCacheCapacity: 0);
    private readonly NitroVerifier _nitroCached = new();
    private readonly NitroVerifier _nitroUncached = new(chainCacheCapacity: 0);
    private readonly TdxVerifier _tdx = new();
    private EvidenceBundle _snp = null!;
    private EvidenceBundle _nitro = null!;
    private EvidenceBundle _tdxBundle = null!;

    private static readonly DateTimeOffset SnpAt = new(2024, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset NitroAt = new(2022, 10, 13, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset TdxAt = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);

    [GlobalSetup]
    public void Setup()
    {
        var vectors = FindVectors();
        _snp = new EvidenceBundle(TeeType.SevSnp, File.ReadAllBytes(Path.Combine(vectors, "sev-snp/virteesev_report_milan.bin")), [File.ReadAllBytes(Path.Combine(vectors, "sev-snp/virteesev_vcek_milan.der"))]);
        _nitro = new EvidenceBundle(TeeType.Nitro, File.ReadAllBytes(Path.Combine(vectors, "nitro/evervault_valid-attestation-doc-bytes")), []);
        _tdxBundle = new EvidenceBundle(TeeType.Tdx, File.ReadAllBytes(Path.Combine(vectors, "tdx/dcapqvl_tdx_quote")), [], [File.ReadAllBytes(Path.Combine(vectors, "tdx/dcapqvl_tdx_quote_collateral.json"))]);

        // Every benchmark must measure a genuine, affirming verification.
        Require(_snpCached.Verify(_snp, Policy, SnpAt), Verdict.Affirming);
        Require(_nitroCached.Verify(_nitro, Policy, NitroAt), Verdict.Affirming);
        Require(_tdx.Verify(_tdxBundle, Policy, TdxAt), Verdict.Affirming);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("sev-snp")]
    public Verdict Snp_FullChain() => _snpUncached.Verify(_snp, Policy, SnpAt).Verdict;

    [Benchmark, BenchmarkCategory("sev-snp")]
    public Verdict Snp_CachedChain() => _snpCached.Verify(_snp, Policy, SnpAt).Verdict;

    [Benchmark(Baseline = true), BenchmarkCategory("nitro")]
    public Verdict Nitro_FullChain() => _nitroUncached.Verify(_nitro, Policy, NitroAt).Verdict;

    [Benchmark, BenchmarkCategory("nitro")]
    public Verdict Nitro_CachedChain() => _nitroCached.Verify(_nitro, Policy, NitroAt).Verdict;

    /// <summary>Only the CBOR and COSE decoding of the document (no signature, no chain): what a CBOR library changes.</summary>
    [Benchmark, BenchmarkCategory("nitro")]
    public bool Nitro_DecodeOnly() => NitroDocumentParser.Parse(_nitro.Bytes).Document is not null;

    [Benchmark(Baseline = true), BenchmarkCategory("tdx")]
    public Verdict Tdx_WithCollateral_CachedChain() => _tdx.Verify(_tdxBundle, Policy, TdxAt).Verdict;

    private static void Require(AttestationResult result, Verdict expected)
    {
        if (result.Verdict != expected)
        {
            throw new InvalidOperationException($"benchmark input is {result.Verdict}, expected {expected}");
        }
    }

    private static string FindVectors()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "test", "Cloister.Attestation.Tests", "vectors");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("test/Cloister.Attestation.Tests/vectors");
    }
}
