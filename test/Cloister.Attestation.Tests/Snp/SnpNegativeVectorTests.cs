using System.Text.Json;
using static Cloister.Attestation.Tests.Snp.SnpVectors;

namespace Cloister.Attestation.Tests.Snp;

/// <summary>sev-snp/negative/* with virteesev_vcek_milan.der at 2024-06-01, as negative_manifest.json describes them.</summary>
public sealed class SnpNegativeVectorTests
{
    public static TheoryData<string> ManifestFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in SnpManifestEntries().Keys)
        {
            data.Add(file);
        }

        return data;
    }

    [Fact]
    public void Manifest_ListsEverySevSnpNegativeFile()
    {
        var onDisk = System.IO.Directory.GetFiles(Path.Combine(SnpVectors.Directory, "negative")).Select(Path.GetFileName).Order().ToArray();

        Assert.Equal(6, onDisk.Length);
        Assert.Equal(onDisk, SnpManifestEntries().Keys.Select(Path.GetFileName).Order().ToArray());
    }

    [Theory]
    [MemberData(nameof(ManifestFiles))]
    public void NegativeVector_IsContraindicated(string file)
    {
        var result = Verify(Path.Combine("negative", Path.GetFileName(file)), "virteesev_vcek_milan.der", At20240601);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.DoesNotContain(result.Checks, c => c.Name == "verifier-error");
    }

    [Theory]
    [InlineData("snp_reportdata_bitflip.bin")]
    [InlineData("snp_measurement_bitflip.bin")]
    [InlineData("snp_sig_r_bitflip.bin")]
    public void SignedRegionOrSignatureFlip_FailsOnlyTheReportSignature(string file)
    {
        var result = Verify(Path.Combine("negative", file), "virteesev_vcek_milan.der", At20240601);

        Assert.Equal(["report-signature"], Failed(result));
        Assert.StartsWith("signature-invalid:", Check(result, "report-signature").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ReportedTcbFlip_FailsTheSignatureAndTheVcekTcbExtensions()
    {
        var result = Verify(Path.Combine("negative", "snp_reported_tcb_bitflip.bin"), "virteesev_vcek_milan.der", At20240601);

        Assert.Equal(["report-signature", "tcb-extensions"], Failed(result));
        Assert.StartsWith("tcb-mismatch: REPORTED_TCB has 2, the certificate's blSPL is 3", Check(result, "tcb-extensions").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedReport_IsAFormatFailureWithTheSize()
    {
        var result = Verify(Path.Combine("negative", "snp_truncated.bin"), "virteesev_vcek_milan.der", At20240601);

        var check = Assert.Single(result.Checks);
        Assert.Equal("format", check.Name);
        Assert.Equal("size: report is 1183 bytes, expected exactly 1184 (0x4A0)", check.Reason);
    }

    [Fact]
    public void NonZeroReservedAfterTheSignature_FailsReservedFieldsWhileTheSignatureStillVerifies()
    {
        var result = Verify(Path.Combine("negative", "snp_sig_reserved_nonzero.bin"), "virteesev_vcek_milan.der", At20240601);

        Assert.Equal(["reserved-fields"], Failed(result));
        Assert.Equal(CheckStatus.Pass, Check(result, "report-signature").Status);
        Assert.Equal("reserved-nonzero: reserved bytes at 0x330 must be zero", Check(result, "reserved-fields").Reason);
    }

    private static Dictionary<string, string> SnpManifestEntries()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "vectors", "negative_manifest.json")));
        var root = document.RootElement;
        var entries = root.ValueKind == JsonValueKind.Array ? root : root.EnumerateObject().First(p => p.Value.ValueKind == JsonValueKind.Array).Value;
        return entries.EnumerateArray()
            .Select(e => (File: e.GetProperty("file").GetString()!, Expect: e.GetProperty("expect").GetString()!))
            .Where(e => e.File.StartsWith("sev-snp/", StringComparison.Ordinal))
            .ToDictionary(e => e.File, e => e.Expect);
    }
}
