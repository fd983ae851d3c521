using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Cloister.Attestation.Tdx;
using static Cloister.Attestation.Tests.Tdx.DcapTestData;

namespace Cloister.Attestation.Tests.Tdx;

/// <summary>A PCK chain made at test time under a look-alike "Intel SGX Root CA" must not verify.</summary>
public sealed class DcapForeignRootTests
{
    [Fact]
    public void QuoteWithAChainToALookAlikeRoot_FailsThePckChain()
    {
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var pckKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var notBefore = At("2020-01-01");
        var notAfter = At("2040-01-01");
        var rootRequest = new CertificateRequest(DcapRoots.IntelSgxRoot.SubjectName, rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var root = rootRequest.CreateSelfSigned(notBefore, notAfter);
        var caRequest = new CertificateRequest("CN=Intel SGX PCK Platform CA, O=Intel Corporation, L=Santa Clara, S=CA, C=US", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.Create(root, notBefore, notAfter, [0x02]).CopyWithPrivateKey(caKey);
        using var pck = new CertificateRequest("CN=Intel SGX PCK Certificate, O=Intel Corporation, L=Santa Clara, S=CA, C=US", pckKey, HashAlgorithmName.SHA256)
            .Create(ca, notBefore, notAfter, [0x03]);
        var pem = Encoding.ASCII.GetBytes(pck.ExportCertificatePem() + "\n" + ca.ExportCertificatePem() + "\n" + root.ExportCertificatePem() + "\n");

        var quote = ReplacePckChain(Read("tdx/dcapqvl_tdx_quote"), pem);
        var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, quote, []), DefaultPolicy, At("2025-07-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Pass, CheckOf(result, "quote-signature").Status);
        Assert.Equal(CheckStatus.Fail, CheckOf(result, "pck-chain").Status);
        Assert.Equal(CheckStatus.Fail, CheckOf(result, "qe-report-signature").Status);
    }

    /// <summary>Rebuilds a v4 quote with another PEM chain in its type-5 certification data (sizes fixed up).</summary>
    private static byte[] ReplacePckChain(byte[] quote, byte[] pem)
    {
        const int SigData = 636;
        int qeCert = SigData + 134;
        int authSize = BinaryPrimitives.ReadUInt16LittleEndian(quote.AsSpan(qeCert + 448));
        int pckHeader = qeCert + 450 + authSize;
        var rebuilt = new byte[pckHeader + 6 + pem.Length];
        quote.AsSpan(0, pckHeader + 2).CopyTo(rebuilt);
        BinaryPrimitives.WriteUInt32LittleEndian(rebuilt.AsSpan(pckHeader + 2), (uint)pem.Length);
        pem.CopyTo(rebuilt, pckHeader + 6);
        BinaryPrimitives.WriteUInt32LittleEndian(rebuilt.AsSpan(SigData + 130), (uint)(rebuilt.Length - qeCert));
        BinaryPrimitives.WriteUInt32LittleEndian(rebuilt.AsSpan(632), (uint)(rebuilt.Length - SigData));
        return rebuilt;
    }
}
