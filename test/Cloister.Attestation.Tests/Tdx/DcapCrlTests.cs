using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Tdx;
using static Cloister.Attestation.Tests.Tdx.DcapTestData;

namespace Cloister.Attestation.Tests.Tdx;

/// <summary>
/// The CRL reader. No real Intel PCK is revoked, so revocation uses a CA made at test time (as go-tdx-guest and
/// dcap-qvl do); the real Intel CRLs check issuer, signature and windows.
/// </summary>
public sealed class DcapCrlTests
{
    [Fact]
    public void SyntheticCrl_RevokesTheListedCertificate_AndIsSignedByItsCa()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Test PCK Platform CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(At("2025-01-01"), At("2030-01-01"));
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var revoked = new CertificateRequest("CN=Test PCK", leafKey, HashAlgorithmName.SHA256).Create(ca, At("2025-01-01"), At("2029-01-01"), [0x01, 0x23, 0x45]);
        using var kept = new CertificateRequest("CN=Other PCK", leafKey, HashAlgorithmName.SHA256).Create(ca, At("2025-01-01"), At("2029-01-01"), [0x00, 0x99]);
        var builder = new CertificateRevocationListBuilder();
        builder.AddEntry(revoked, At("2025-06-01"));
        var der = builder.Build(ca, BigInteger.One, At("2025-08-01"), HashAlgorithmName.SHA256, thisUpdate: At("2025-07-01"));

        Assert.True(DcapCrl.TryParse(der, out var crl));
        Assert.True(crl!.IsSignedBy(ca));
        Assert.True(crl.Revokes(revoked));
        Assert.False(crl.Revokes(kept));
        Assert.True(crl.IsCurrent(At("2025-07-15")));
        Assert.False(crl.IsCurrent(At("2025-08-02")));
        Assert.False(crl.IsCurrent(At("2025-06-30")));
        Assert.False(crl.IsSignedBy(DcapRoots.IntelSgxRoot));
    }

    [Fact]
    public void RealIntelCrls_ParseAndVerify()
    {
        Assert.True(DcapCrl.TryParse(Read("tdx/gotdxguest_rootcrl.der"), out var root));
        Assert.True(root!.IsSignedBy(DcapRoots.IntelSgxRoot));
        Assert.True(DcapCrl.TryParse(Read("tdx/gotdxguest_pckcrl"), out var pck));
        Assert.Equal(44, pck!.RevokedSerials.Count);
        Assert.False(pck.IsSignedBy(DcapRoots.IntelSgxRoot));
        Assert.True(DcapRoots.TryReadPemCertificates(Read("tdx/gotdxguest_pckcrl_issuer_chain.pem"), out var chain));
        Assert.Contains(chain, c => pck.IsSignedBy(c));
    }

    [Fact]
    public void TamperedCrl_FailsItsSignatureOrParse()
    {
        var der = Read("tdx/gotdxguest_rootcrl.der");
        for (int i = 0; i < der.Length; i++)
        {
            var mutated = (byte[])der.Clone();
            mutated[i] ^= 0x01;
            if (DcapCrl.TryParse(mutated, out var crl))
            {
                Assert.False(crl!.IsSignedBy(DcapRoots.IntelSgxRoot), $"byte {i}");
            }
        }
    }

    [Fact]
    public void EmbeddedRoot_HasThePinnedFingerprint()
        => Assert.Equal(DcapRoots.IntelSgxRootSha256, Convert.ToHexStringLower(SHA256.HashData(DcapRoots.IntelSgxRoot.RawData)));
}
