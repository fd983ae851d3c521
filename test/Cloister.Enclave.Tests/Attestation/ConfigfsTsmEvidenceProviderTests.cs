using System.Security.Cryptography;
using Cloister.Attestation;
using Cloister.Enclave.Attestation;

namespace Cloister.Enclave.Tests.Attestation;

public sealed class ConfigfsTsmEvidenceProviderTests : IDisposable
{
    private static readonly DateTimeOffset MilanReportCheckedAt = new(2024, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly string _root = Directory.CreateTempSubdirectory("cloister-tsm-").FullName;
    private readonly byte[] _reportData = SHA512.HashData("claims"u8);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Snp_ReplaysTheRecordedReportAndCertificates_WhichStillVerify()
    {
        var kernel = new FakeTsmKernel("sev_guest", RecordedEvidence.SnpReport, SnpAuxblob());
        var provider = new ConfigfsTsmEvidenceProvider(_root, kernel);

        WorkerEvidence evidence = await provider.GetEvidenceAsync(_reportData, CancellationToken.None);

        Assert.Equal("sev-snp", evidence.Tee);
        Assert.Equal(RecordedEvidence.SnpReport, evidence.Bytes);
        Assert.Equal([RecordedEvidence.Vcek, RecordedEvidence.Ask, RecordedEvidence.Ark], evidence.Certificates);
        Assert.Equal(_reportData, Assert.Single(kernel.Inblobs));
        Assert.Equal(kernel.Created, kernel.Removed);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));

        // The report is recorded real evidence: its signature and VCEK chain verify, but it binds the recorder's
        // report data, not ours (a fake kernel cannot make the firmware sign our data).
        AttestationResult result = AttestationVerifiers.CreateDefault().Verify(
            new EvidenceBundle(TeeType.SevSnp, evidence.Bytes, evidence.Certificates), new AppraisalPolicy(), MilanReportCheckedAt);
        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(CheckStatus.Pass, result.Checks.Single(c => c.Name == "report-signature").Status);
        Assert.Equal(CheckStatus.Pass, result.Checks.Single(c => c.Name == "vcek-chain").Status);

        AttestationResult pinned = AttestationVerifiers.CreateDefault().Verify(
            new EvidenceBundle(TeeType.SevSnp, evidence.Bytes, evidence.Certificates),
            new AppraisalPolicy { ExpectedReportData = Convert.ToHexStringLower(_reportData) },
            MilanReportCheckedAt);
        Assert.Equal(Verdict.Contraindicated, pinned.Verdict);
    }

    [Fact]
    public async Task Tdx_ReplaysTheRecordedQuote_WithoutCertificates()
    {
        var kernel = new FakeTsmKernel("tdx_guest", RecordedEvidence.TdxQuote, []);
        var provider = new ConfigfsTsmEvidenceProvider(_root, kernel);

        WorkerEvidence evidence = await provider.GetEvidenceAsync(_reportData, CancellationToken.None);

        Assert.Equal("tdx", evidence.Tee);
        Assert.Equal(RecordedEvidence.TdxQuote, evidence.Bytes);
        Assert.Empty(evidence.Certificates);
        Assert.Equal(_reportData, Assert.Single(kernel.Inblobs));
        Assert.Equal("tdx", provider.Tee);
    }

    [Fact]
    public async Task GenerationMovedDuringTheRead_RetriesAndReturnsTheReportForOurData()
    {
        var kernel = new FakeTsmKernel("sev_guest", RecordedEvidence.SnpReport, SnpAuxblob())
        {
            RacesToInject = 1,
            OtherWritersOutblob = RecordedEvidence.OtherSnpReport,
        };
        var provider = new ConfigfsTsmEvidenceProvider(_root, kernel);

        WorkerEvidence evidence = await provider.GetEvidenceAsync(_reportData, CancellationToken.None);

        Assert.Equal(RecordedEvidence.SnpReport, evidence.Bytes);
        Assert.Equal(2, kernel.OutblobReads);
        Assert.Equal(2, kernel.Inblobs.Count);
        Assert.All(kernel.Inblobs, inblob => Assert.Equal(_reportData, inblob));
    }

    [Fact]
    public async Task GenerationKeepsMoving_FailsAfterMaxAttempts_AndRemovesTheReport()
    {
        var kernel = new FakeTsmKernel("sev_guest", RecordedEvidence.SnpReport, SnpAuxblob())
        {
            RacesToInject = 100,
            OtherWritersOutblob = RecordedEvidence.OtherSnpReport,
        };
        var provider = new ConfigfsTsmEvidenceProvider(_root, kernel);

        var error = await Assert.ThrowsAsync<EvidenceException>(() => provider.GetEvidenceAsync(_reportData, CancellationToken.None).AsTask());

        Assert.Contains("generation", error.Message, StringComparison.Ordinal);
        Assert.Equal(ConfigfsTsmEvidenceProvider.MaxAttempts, kernel.OutblobReads);
        Assert.Equal(kernel.Created, kernel.Removed);
    }

    [Fact]
    public void Tee_ProbesTheProviderAttributeOnce()
    {
        var kernel = new FakeTsmKernel("sev_guest", RecordedEvidence.SnpReport, SnpAuxblob());
        var provider = new ConfigfsTsmEvidenceProvider(_root, kernel);

        Assert.Equal("sev-snp", provider.Tee);
        Assert.Equal("sev-snp", provider.Tee);
        Assert.Single(kernel.Created);
        Assert.Equal(kernel.Created, kernel.Removed);
        Assert.Empty(kernel.Inblobs);
    }

    [Fact]
    public async Task UnsupportedProvider_IsRefused()
    {
        var kernel = new FakeTsmKernel("arm_cca_guest", RecordedEvidence.SnpReport, []);
        var provider = new ConfigfsTsmEvidenceProvider(_root, kernel);

        await Assert.ThrowsAsync<EvidenceException>(() => provider.GetEvidenceAsync(_reportData, CancellationToken.None).AsTask());
        Assert.Throws<EvidenceException>(() => provider.Tee);
        Assert.Equal(kernel.Created, kernel.Removed);
    }

    [Fact]
    public async Task MalformedAuxblob_IsRefusedWithoutItsBytes()
    {
        byte[] auxblob = SnpAuxblob()[..40];
        var kernel = new FakeTsmKernel("sev_guest", RecordedEvidence.SnpReport, auxblob);
        var provider = new ConfigfsTsmEvidenceProvider(_root, kernel);

        var error = await Assert.ThrowsAsync<EvidenceException>(() => provider.GetEvidenceAsync(_reportData, CancellationToken.None).AsTask());

        Assert.Contains("auxblob", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(32)]
    [InlineData(65)]
    public async Task ReportData_NotSixtyFourBytes_IsRejected(int length)
    {
        var provider = new ConfigfsTsmEvidenceProvider(_root, new FakeTsmKernel("sev_guest", [], []));

        await Assert.ThrowsAsync<ArgumentException>(async () => await provider.GetEvidenceAsync(new byte[length], CancellationToken.None));
    }

    [Fact]
    public async Task NotAConfigfsTsmDirectory_IsAnEvidenceError()
    {
        // The real (configfs) directory operations on a plain directory: mkdir works but no attributes appear.
        var plain = new ConfigfsTsmEvidenceProvider(_root);
        File.WriteAllText(Path.Combine(_root, "file"), "x");
        var blocked = new ConfigfsTsmEvidenceProvider(Path.Combine(_root, "file"));

        await Assert.ThrowsAsync<EvidenceException>(() => plain.GetEvidenceAsync(_reportData, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<EvidenceException>(() => blocked.GetEvidenceAsync(_reportData, CancellationToken.None).AsTask());
        Assert.Equal(["file"], Directory.EnumerateFileSystemEntries(_root).Select(Path.GetFileName));
    }

    private static byte[] SnpAuxblob()
    {
        return RecordedEvidence.CertificateTable(("vcek", RecordedEvidence.Vcek), ("ask", RecordedEvidence.Ask), ("ark", RecordedEvidence.Ark));
    }
}
