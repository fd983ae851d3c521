using Cloister.Enclave.Attestation;

namespace Cloister.Enclave.Tests.Attestation;

public sealed class EvidenceProvidersTests : IDisposable
{
    private const string Measurement = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-detect-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string ConfigfsRoot => Path.Combine(_directory, "tsm", "report");

    private string NsmDevice => Path.Combine(_directory, "nsm");

    private string DataDirectory => Path.Combine(_directory, "data");

    [Fact]
    public void NoTeeInterface_FallsBackToSimulated_AndSaysSo()
    {
        IEvidenceProvider provider = Detect(new FakeTsmKernel("sev_guest", [], []), out string description);

        var simulated = Assert.IsType<SimulatedEvidenceProvider>(provider);
        simulated.Dispose();
        Assert.Equal("simulated", provider.Tee);
        Assert.StartsWith("SIMULATED", description, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(DataDirectory, SimulatedEvidenceProvider.KeyFileName)));
    }

    [Fact]
    public void ConfigfsTsm_IsPreferred_WhenItsReportDirectoryIsWritable()
    {
        Directory.CreateDirectory(ConfigfsRoot);
        File.WriteAllBytes(NsmDevice, []);
        var kernel = new FakeTsmKernel("tdx_guest", RecordedEvidence.TdxQuote, []);

        IEvidenceProvider provider = Detect(kernel, out string description);

        Assert.IsType<ConfigfsTsmEvidenceProvider>(provider);
        Assert.Equal("tdx", provider.Tee);
        Assert.Contains("configfs-tsm", description, StringComparison.Ordinal);
        Assert.False(Directory.Exists(DataDirectory));
    }

    [Fact]
    public void Nsm_IsUsed_WhenTheDeviceExists()
    {
        File.WriteAllBytes(NsmDevice, []);

        IEvidenceProvider provider = Detect(new FakeTsmKernel("sev_guest", [], []), out string description);

        Assert.Equal(NsmDevice, Assert.IsType<NsmEvidenceProvider>(provider).DevicePath);
        Assert.Contains("NSM", description, StringComparison.Ordinal);
    }

    [Fact]
    public void UnusableConfigfsTsm_IsSkipped_AndTheReasonReported()
    {
        Directory.CreateDirectory(ConfigfsRoot);

        IEvidenceProvider provider = Detect(new FakeTsmKernel("arm_cca_guest", [], []), out string description);

        Assert.IsType<SimulatedEvidenceProvider>(provider);
        ((IDisposable)provider).Dispose();
        Assert.Contains("unusable", description, StringComparison.Ordinal);
    }

    private IEvidenceProvider Detect(FakeTsmKernel kernel, out string description)
    {
        return EvidenceProviders.Detect(DataDirectory, Measurement, ConfigfsRoot, kernel, NsmDevice, out description);
    }
}
