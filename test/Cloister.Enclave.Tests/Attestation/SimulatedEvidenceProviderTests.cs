using System.Security.Cryptography;
using Cloister.Attestation;
using Cloister.Enclave.Attestation;

namespace Cloister.Enclave.Tests.Attestation;

public sealed class SimulatedEvidenceProviderTests : IDisposable
{
    private const string Measurement = "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233343536373839";

    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-sim-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task LoadOrCreate_CreatesAnOwnerOnlyKey_AndEvidenceThatVerifiesWithThePublishedKey()
    {
        byte[] reportData = SHA512.HashData("claims"u8);
        using var provider = SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement);

        WorkerEvidence evidence = await provider.GetEvidenceAsync(reportData, CancellationToken.None);

        string keyPath = Path.Combine(_directory, SimulatedEvidenceProvider.KeyFileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        string publicPem = File.ReadAllText(Path.Combine(_directory, SimulatedEvidenceProvider.PublicKeyFileName));
        Assert.Equal(provider.PublicKeyPem, publicPem);
        Assert.DoesNotContain("PRIVATE", publicPem, StringComparison.Ordinal);
        Assert.Equal("simulated", evidence.Tee);

        using var trusted = ECDsa.Create();
        trusted.ImportFromPem(publicPem);
        var policy = new AppraisalPolicy
        {
            AllowedTees = new HashSet<TeeType> { TeeType.Simulated },
            Measurements = [Measurement],
            ExpectedReportData = Convert.ToHexStringLower(reportData),
        };
        AttestationResult result = AttestationVerifiers.CreateDefault(trusted).Verify(
            new EvidenceBundle(TeeType.Simulated, evidence.Bytes, evidence.Certificates), policy, DateTimeOffset.UtcNow);
        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(Measurement, result.Claims.Measurement);
    }

    [Fact]
    public async Task LoadOrCreate_ReusesTheKeyFile()
    {
        string firstKey;
        using (var first = SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement))
        {
            firstKey = first.PublicKeyPem;
        }

        using var second = SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement);
        WorkerEvidence evidence = await second.GetEvidenceAsync(new byte[64], CancellationToken.None);

        Assert.Equal(firstKey, second.PublicKeyPem);
        using var trusted = ECDsa.Create();
        trusted.ImportFromPem(firstKey);
        var policy = new AppraisalPolicy { AllowedTees = new HashSet<TeeType> { TeeType.Simulated } };
        Assert.Equal(Verdict.Affirming, AttestationVerifiers.CreateDefault(trusted).Verify(
            new EvidenceBundle(TeeType.Simulated, evidence.Bytes, []), policy, DateTimeOffset.UtcNow).Verdict);
    }

    [Fact]
    public void LoadOrCreate_KeyReadableByOthers_IsRefused()
    {
        SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement).Dispose();
        string keyPath = Path.Combine(_directory, SimulatedEvidenceProvider.KeyFileName);
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var error = Assert.Throws<EvidenceException>(() => SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement));

        Assert.Contains("0600", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadOrCreate_NotAKey_IsRefused()
    {
        string keyPath = Path.Combine(_directory, SimulatedEvidenceProvider.KeyFileName);
        File.WriteAllText(keyPath, "not a key");
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        Assert.Throws<EvidenceException>(() => SimulatedEvidenceProvider.LoadOrCreate(_directory, Measurement));
    }
}
