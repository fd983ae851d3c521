using System.Security.Cryptography;
using Cloister.Attestation.Snp;
using static Cloister.Attestation.Tests.Snp.SnpVectors;

namespace Cloister.Attestation.Tests.Snp;

public sealed class SnpChainCacheTests
{
    [Fact]
    public void SameVcekSeenAgain_IsServedFromTheCacheWithTheSameVerdict()
    {
        var verifier = new SnpVerifier();
        var bundle = Bundle("virteesev_report_milan.bin", "virteesev_vcek_milan.der");

        var first = verifier.Verify(bundle, new AppraisalPolicy(), At20240601);
        var second = verifier.Verify(bundle, new AppraisalPolicy(), At20240601);

        Assert.Equal(1, verifier.CachedChainCount);
        Assert.Equal(Verdict.Affirming, first.Verdict);
        Assert.Equal(first.Checks, second.Checks);
    }

    [Fact]
    public void CachedVcek_IsStillCheckedForValidityAtEachTime()
    {
        var verifier = new SnpVerifier();
        var bundle = Bundle("trustee_test-vlek-report.bin", "trustee_test-vlek.der");
        var policy = new AppraisalPolicy { MaxVmpl = 1 };

        Assert.Equal(Verdict.Affirming, verifier.Verify(bundle, policy, At20250601).Verdict);
        Assert.Equal(Verdict.Contraindicated, verifier.Verify(bundle, policy, At20260601).Verdict);
    }

    [Fact]
    public void CertificateThatFailedTheChain_IsNotCached()
    {
        var verifier = new SnpVerifier();

        verifier.Verify(Bundle("trustee_test-report.bin", "trustee_test-vcek-invalid-new.der"), new AppraisalPolicy(), At20240601);

        Assert.Equal(0, verifier.CachedChainCount);
    }

    [Fact]
    public void Cache_StaysWithinItsCapacity()
    {
        var verifier = new SnpVerifier(2);
        string[][] pairs =
        [
            ["virteesev_report_milan.bin", "virteesev_vcek_milan.der"],
            ["gosevguest_attestation.bin", "gosevguest_vcek.testcer"],
            ["trustee_test-report.bin", "trustee_test-vcek.der"],
        ];

        foreach (var pair in pairs)
        {
            verifier.Verify(Bundle(pair[0], pair[1]), new AppraisalPolicy(), At20240601);
            Assert.True(verifier.CachedChainCount <= 2);
        }
    }

    [Fact]
    public void DisabledCache_GivesTheSameVerdicts()
    {
        var verifier = new SnpVerifier(0);

        var result = verifier.Verify(Bundle("routex_oak_turin_v5_report.bin", "routex_vcek-chain-turin.pem"), new AppraisalPolicy(), At20260101);

        Assert.Equal(Verdict.Affirming, result.Verdict);
        Assert.Equal(0, verifier.CachedChainCount);
    }

    [Fact]
    public void SharedVerifier_IsSafeUnderConcurrentUse()
    {
        var verifier = new SnpVerifier(1);
        var bundles = new[]
        {
            (Bundle("virteesev_report_milan.bin", "virteesev_vcek_milan.der"), At20240601),
            (Bundle("trustee_e2e_genoa_report_reconstructed.bin", "trustee_e2e_genoa_vcek.der"), At20260101),
            (Bundle("routex_oak_turin_v5_report.bin", "routex_vcek-chain-turin.pem"), At20260101),
        };
        var verdicts = new Verdict[300];

        Parallel.For(0, verdicts.Length, i =>
        {
            var (bundle, at) = bundles[i % bundles.Length];
            verdicts[i] = verifier.Verify(bundle, new AppraisalPolicy(), at).Verdict;
        });

        Assert.All(verdicts, v => Assert.Equal(Verdict.Affirming, v));
    }

    [Fact]
    public void BuiltInRoots_ArePinnedAndSelfConsistent()
    {
        var expected = new Dictionary<string, string>
        {
            ["SEV-Milan"] = "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b",
            ["SEV-Genoa"] = "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521",
            ["SEV-Turin"] = "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185",
            ["SEV-VLEK-Milan"] = "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5",
        };

        Assert.Equal(4, SnpAmdRoots.Anchors.Count);
        foreach (var anchor in SnpAmdRoots.Anchors)
        {
            Assert.Null(anchor.SelfCheckError);
            var name = anchor.Intermediate.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, false);
            Assert.Equal(expected[name], Convert.ToHexStringLower(SHA256.HashData(anchor.IntermediateDer)));
        }
    }

    [Fact]
    public void BuiltInRoots_AreTheOnesInTheVectorBundles()
    {
        foreach (var file in new[] { "gosevguest_ask_ark_milan.pem", "gosevguest_ask_ark_genoa.pem", "gosevguest_ask_ark_turin_vcek.pem", "gosevguest_ask_ark_milan_vlek.pem" })
        {
            var certificates = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            certificates.ImportFromPemFile(Path.Combine(SnpVectors.Directory, file));

            Assert.All(certificates, c => Assert.True(SnpAmdRoots.IsBuiltIn(c.RawData), $"{file}: {c.Subject}"));
        }
    }
}
