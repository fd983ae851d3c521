using Cloister.Attestation.Snp;
using static Cloister.Attestation.Tests.Snp.SnpVectors;

namespace Cloister.Attestation.Tests.Snp;

/// <summary>Malformed, truncated, random and oversized inputs give a contraindicated verdict with a reason, never an exception.</summary>
public sealed class SnpRobustnessTests
{
    private static readonly byte[] VirteeVcek = Read("virteesev_vcek_milan.der");

    [Fact]
    public void EmptyInput_IsAFormatFailure()
    {
        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, [], [VirteeVcek]), new AppraisalPolicy(), At20240601);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith("size: report is 0 bytes", Check(result, "format").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryTruncationOfARealReport_IsAFormatFailure()
    {
        var report = Read("virteesev_report_milan.bin");
        var verifier = new SnpVerifier();

        for (var length = 0; length < report.Length; length++)
        {
            var result = verifier.Verify(new EvidenceBundle(TeeType.SevSnp, report[..length], [VirteeVcek]), new AppraisalPolicy(), At20240601);

            Assert.Equal(Verdict.Contraindicated, result.Verdict);
            Assert.Equal("format", Assert.Single(result.Checks).Name);
        }
    }

    [Fact]
    public void EveryTruncationOfTheHclReport_IsContraindicated()
    {
        var report = Read("trustee_az-snp-vtpm_hcl-report.bin");
        var certificates = new[] { Read("trustee_az-snp-vtpm_vcek.pem") };
        var verifier = new SnpVerifier();

        for (var length = 0; length < 0x4D4 + 1110; length++)
        {
            var result = verifier.Verify(new EvidenceBundle(TeeType.SevSnp, report[..length], certificates), new AppraisalPolicy(), At20240601);

            Assert.Equal(Verdict.Contraindicated, result.Verdict);
        }
    }

    [Fact]
    public void ReportWithTrailingBytes_IsAFormatFailure()
    {
        var report = Read("virteesev_report_milan.bin").Concat(new byte[1]).ToArray();

        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, report, [VirteeVcek]), new AppraisalPolicy(), At20240601);

        Assert.StartsWith("size: report is 1185 bytes", Check(result, "format").Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(6u)]
    [InlineData(0xFFFFFFFFu)]
    public void UnknownVersion_IsAFormatFailureNamingTheVersion(uint version)
    {
        var report = Read("virteesev_report_milan.bin");
        BitConverter.TryWriteBytes(report.AsSpan(0, 4), version);

        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, report, [VirteeVcek]), new AppraisalPolicy(), At20240601);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith($"version: unknown report version {version}", Check(result, "format").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomReportsOfTheRightSize_AreContraindicated()
    {
        var random = new Random(20261122);
        var verifier = new SnpVerifier();
        var report = new byte[0x4A0];

        for (var i = 0; i < 300; i++)
        {
            random.NextBytes(report);
            // Half of them get a valid version so the parser goes past the header.
            if (i % 2 == 0)
            {
                report[0] = (byte)(2 + (i % 4));
                report[1] = report[2] = report[3] = 0;
            }

            var result = verifier.Verify(new EvidenceBundle(TeeType.SevSnp, report, [VirteeVcek]), new AppraisalPolicy(), At20240601);

            Assert.Equal(Verdict.Contraindicated, result.Verdict);
            Assert.DoesNotContain(result.Checks, c => c.Name == "verifier-error");
        }
    }

    [Fact]
    public void RandomInputsOfRandomSizes_AreContraindicated()
    {
        var random = new Random(7);
        var verifier = new SnpVerifier();

        for (var i = 0; i < 300; i++)
        {
            var bytes = new byte[random.Next(0, 5000)];
            random.NextBytes(bytes);
            if (i % 3 == 0 && bytes.Length >= 4)
            {
                "HCLA"u8.CopyTo(bytes);
            }

            var result = verifier.Verify(new EvidenceBundle(TeeType.SevSnp, bytes, [VirteeVcek]), new AppraisalPolicy(), At20240601);

            Assert.Equal(Verdict.Contraindicated, result.Verdict);
            Assert.DoesNotContain(result.Checks, c => c.Name == "verifier-error");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HundredMegabyteInput_IsRejectedWithoutCopyingIt(bool hclMagic)
    {
        var huge = new byte[100 * 1024 * 1024];
        if (hclMagic)
        {
            "HCLA"u8.CopyTo(huge);
        }

        var bundle = new EvidenceBundle(TeeType.SevSnp, huge, [VirteeVcek]);
        var verifier = new SnpVerifier();
        verifier.Verify(bundle, new AppraisalPolicy(), At20240601); // warm up type loading

        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = verifier.Verify(bundle, new AppraisalPolicy(), At20240601);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith("size:", Check(result, "format").Reason, StringComparison.Ordinal);
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes for a rejected 100 MB input");
    }

    [Fact]
    public void HundredMegabyteCertificate_IsIgnoredWithAReason()
    {
        var bundle = new EvidenceBundle(TeeType.SevSnp, Read("virteesev_report_milan.bin"), [new byte[100 * 1024 * 1024]]);

        var result = new SnpVerifier().Verify(bundle, new AppraisalPolicy(), At20240601);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith("certificate-unreadable:", Check(result, "vcek-chain").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void GarbageCertificates_AreChainFailuresNotExceptions()
    {
        var random = new Random(3);
        var garbage = new byte[1400];
        random.NextBytes(garbage);
        garbage[0] = 0x30;
        var truncatedVcek = VirteeVcek[..700];
        var flippedVcek = (byte[])VirteeVcek.Clone();
        flippedVcek[40] ^= 0xFF;
        var badPem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"u8.ToArray();

        foreach (var certificate in new[] { garbage, truncatedVcek, flippedVcek, badPem, [], "hello"u8.ToArray() })
        {
            var bundle = new EvidenceBundle(TeeType.SevSnp, Read("virteesev_report_milan.bin"), [certificate]);

            var result = new SnpVerifier().Verify(bundle, new AppraisalPolicy(), At20240601);

            Assert.Equal(Verdict.Contraindicated, result.Verdict);
            Assert.Equal(CheckStatus.Fail, Check(result, "vcek-chain").Status);
        }
    }

    [Fact]
    public void EveryFlippedByteOfTheVcek_IsNeverAccepted()
    {
        var report = Read("virteesev_report_milan.bin");
        var verifier = new SnpVerifier(0);
        var vcek = (byte[])VirteeVcek.Clone();

        for (var position = 0; position < vcek.Length; position++)
        {
            vcek[position] ^= 0x01;
            var result = verifier.Verify(new EvidenceBundle(TeeType.SevSnp, report, [vcek]), new AppraisalPolicy(), At20240601);
            vcek[position] ^= 0x01;

            Assert.True(result.Verdict == Verdict.Contraindicated, $"VCEK flip at {position} gave {result.Verdict}");
            Assert.DoesNotContain(result.Checks, c => c.Name == "verifier-error");
        }
    }

    [Fact]
    public void NoCertificates_IsContraindicatedWithNoCertificate()
    {
        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.SevSnp, Read("virteesev_report_milan.bin"), []), new AppraisalPolicy(), At20240601);

        Assert.StartsWith("no-certificate:", Check(result, "vcek-chain").Reason, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.NotEvaluated, Check(result, "report-signature").Status);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
    }

    [Fact]
    public void EvidenceOfAnotherType_IsAFormatFailure()
    {
        var result = new SnpVerifier().Verify(new EvidenceBundle(TeeType.Tdx, Read("virteesev_report_milan.bin"), [VirteeVcek]), new AppraisalPolicy(), At20240601);

        Assert.StartsWith("type:", Check(result, "format").Reason, StringComparison.Ordinal);
    }
}
