using System.Security.Cryptography;
using Cloister.Attestation;
using Cloister.Attestation.Simulated;
using Cloister.Enclave.Attestation;

namespace Cloister.Enclave.Tests.Broker;

public sealed class SimulatedEvidenceTests : IDisposable
{
    private static readonly string Measurement = Convert.ToHexStringLower(SHA384.HashData("worker"u8));

    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-simulated-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void LoadOrCreate_WritesAnOwnerOnlyKey_AndItsPublicHalf_AndLoadsTheSameKeyAgain()
    {
        using var first = SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement);
        using var second = SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement);

        var keyPath = Path.Combine(_directory, SimulatedEvidenceProvider.KeyFileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(keyPath), StringComparison.Ordinal);
        Assert.Equal(first.PublicKeyPem + "\n", File.ReadAllText(Path.Combine(_directory, SimulatedEvidenceProvider.PublicKeyFileName)));
        Assert.Equal(first.PublicKeyPem, second.PublicKeyPem);
        Assert.Equal("simulated", first.Tee);
    }

    [Fact]
    public void LoadOrCreate_WritesThePublicKeyOwnerOnly_AndNarrowsOneAnEarlierVersionLeft0644()
    {
        var publicPath = Path.Combine(_directory, SimulatedEvidenceProvider.PublicKeyFileName);
        using (SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(publicPath));
        }

        var pem = File.ReadAllText(publicPath);
        File.SetUnixFileMode(publicPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using (SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(publicPath));
        }

        Assert.Equal(pem, File.ReadAllText(publicPath));
    }

    [Fact]
    public void LoadOrCreate_RefusesAKeyOthersCanRead()
    {
        SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement).Dispose();
        File.SetUnixFileMode(Path.Combine(_directory, SimulatedEvidenceProvider.KeyFileName), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var error = Assert.Throws<InvalidOperationException>(() => SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement));

        Assert.Contains("0600", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Evidence_VerifiesUnderTheAttesterKey_BindingTheReportDataAndMeasurement()
    {
        using var provider = SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement);
        var reportData = RandomNumberGenerator.GetBytes(64);

        var evidence = await provider.GetEvidenceAsync(reportData, CancellationToken.None);

        using var key = ECDsa.Create();
        key.ImportFromPem(provider.PublicKeyPem);
        var result = new SimulatedVerifier(key).Verify(
            new EvidenceBundle(TeeType.Simulated, evidence.Bytes, evidence.Certificates),
            new AppraisalPolicy { AllowedTees = new HashSet<TeeType> { TeeType.Simulated } },
            DateTimeOffset.UtcNow);
        Assert.NotEqual(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(Convert.ToHexStringLower(reportData), result.Claims.ReportData);
        Assert.Equal(Measurement, result.Claims.Measurement);
    }
}
