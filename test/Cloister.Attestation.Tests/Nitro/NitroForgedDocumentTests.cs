using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Nitro;

namespace Cloister.Attestation.Tests.Nitro;

/// <summary>Documents correctly signed by a key that does not chain to the AWS root: the signature passes, the chain must not.</summary>
public sealed class NitroForgedDocumentTests
{
    private static readonly DateTimeOffset Issued = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly AppraisalPolicy DefaultPolicy = new();

    // Lax: the tests write what a forger would, duplicate keys included; the verifier decides what to accept.
    private static byte[] Encode(Action<CborWriter> write)
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        write(writer);
        return writer.Encode();
    }

    private static byte[] Bstr(byte[] bytes) => Encode(w => w.WriteByteString(bytes));

    private static byte[] Tstr(string text) => Encode(w => w.WriteTextString(text));

    private static byte[] Uint(ulong value) => Encode(w => w.WriteUInt64(value));

    private static byte[] Map(params (byte[] Key, byte[] Value)[] entries) => Encode(w =>
    {
        w.WriteStartMap(entries.Length);
        foreach (var (key, value) in entries)
        {
            w.WriteEncodedValue(key);
            w.WriteEncodedValue(value);
        }

        w.WriteEndMap();
    });

    private static byte[] Array(params byte[][] items) => Encode(w =>
    {
        w.WriteStartArray(items.Length);
        foreach (var item in items)
        {
            w.WriteEncodedValue(item);
        }

        w.WriteEndArray();
    });

    /// <summary>RFC 9052 §4.4: ["Signature1", protected, h'', payload], written here so a test can sign any protected bytes.</summary>
    private static byte[] SigStructure(byte[] protectedHeader, byte[] payload)
        => Array(Tstr("Signature1"), Bstr(protectedHeader), Bstr([]), Bstr(payload));

    private sealed record Forgery(ECDsa LeafKey, byte[] Leaf, byte[] Ca);

    private static Forgery MakeChain()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var caRequest = new CertificateRequest("CN=aws.nitro-enclaves", caKey, HashAlgorithmName.SHA384);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(Issued.AddDays(-10), Issued.AddDays(10));

        var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var leafRequest = new CertificateRequest("CN=forged-enclave", leafKey, HashAlgorithmName.SHA384);
        using var leaf = leafRequest.Create(ca, Issued.AddHours(-1), Issued.AddHours(2), [1, 2, 3, 4]);
        return new Forgery(leafKey, leaf.RawData, ca.RawData);
    }

    private static byte[] Payload(byte[] leaf, byte[][] cabundle, byte pcrFill = 0x11, byte[]? extraEntryKey = null)
    {
        var pcr = new byte[48];
        System.Array.Fill(pcr, pcrFill);
        var entries = new List<(byte[], byte[])>
        {
            (Tstr("module_id"), Tstr("i-0123456789abcdef0-enc0123456789abcdef")),
            (Tstr("digest"), Tstr("SHA384")),
            (Tstr("timestamp"), Uint((ulong)Issued.ToUnixTimeMilliseconds())),
            (Tstr("pcrs"), Map((Uint(0), Bstr(pcr)), (Uint(1), Bstr(pcr)), (Uint(2), Bstr(pcr)))),
            (Tstr("certificate"), Bstr(leaf)),
            (Tstr("cabundle"), Array(cabundle.Select(Bstr).ToArray())),
            (Tstr("public_key"), [0xF6]),
            (Tstr("user_data"), Bstr([1, 2, 3])),
            (Tstr("nonce"), [0xF6]),
        };
        if (extraEntryKey is not null)
        {
            entries.Add((extraEntryKey, Uint(1)));
        }

        return Map([.. entries]);
    }

    private static byte[] Sign1(ECDsa key, byte[] payload, byte[]? protectedHeader = null, byte[]? unprotected = null)
    {
        protectedHeader ??= [0xA1, 0x01, 0x38, 0x22];
        var signature = key.SignData(SigStructure(protectedHeader, payload), HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return Array(Bstr(protectedHeader), unprotected ?? [0xA0], Bstr(payload), Bstr(signature));
    }

    private static AttestationResult Verify(byte[] document)
        => new NitroVerifier().Verify(new EvidenceBundle(TeeType.Nitro, document, []), DefaultPolicy, Issued);

    private static Check Find(AttestationResult result, string name) => Assert.Single(result.Checks, c => c.Name == name);

    [Fact]
    public void SelfMadeRoot_SignatureVerifies_ButTheRootIsNotPinned()
    {
        var forgery = MakeChain();
        var result = Verify(Sign1(forgery.LeafKey, Payload(forgery.Leaf, [forgery.Ca])));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Pass, Find(result, "signature").Status);
        Assert.StartsWith("root-not-pinned:", Find(result, "certificate-chain").Reason, StringComparison.Ordinal);
        Assert.Equal("010203", result.Claims.ReportData);
    }

    [Fact]
    public void RealRootInTheBundle_ButLeafNotIssuedUnderIt_FailsTheChain()
    {
        var forgery = MakeChain();
        var result = Verify(Sign1(forgery.LeafKey, Payload(forgery.Leaf, [NitroRoot.Der, forgery.Ca])));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Pass, Find(result, "signature").Status);
        Assert.Equal(CheckStatus.Fail, Find(result, "certificate-chain").Status);
    }

    [Fact]
    public void RealRootOnlyInTheBundle_FailsTheChain()
    {
        var forgery = MakeChain();
        var result = Verify(Sign1(forgery.LeafKey, Payload(forgery.Leaf, [NitroRoot.Der])));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, Find(result, "certificate-chain").Status);
    }

    [Fact]
    public void TaggedForgery_IsStillContraindicated()
    {
        var forgery = MakeChain();
        var result = Verify([0xD2, .. Sign1(forgery.LeafKey, Payload(forgery.Leaf, [forgery.Ca]))]);

        Assert.Equal(CheckStatus.Pass, Find(result, "cose-structure").Status);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
    }

    [Theory]
    [InlineData("a1012f", "alg-unsupported")]
    [InlineData("a10126", "alg-unsupported")]
    [InlineData("a0", "alg-missing")]
    [InlineData("a1016445533338", "alg-missing")]
    public void OtherAlgorithms_AreRefused(string protectedHex, string reason)
    {
        var forgery = MakeChain();
        var result = Verify(Sign1(forgery.LeafKey, Payload(forgery.Leaf, [forgery.Ca]), Convert.FromHexString(protectedHex)));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith(reason, Find(result, "cose-algorithm").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AlgInBothHeaders_IsRefused()
    {
        // RFC 9052 §3: a label must not appear in both buckets; the COSE library refuses the message.
        var forgery = MakeChain();
        var result = Verify(Sign1(forgery.LeafKey, Payload(forgery.Leaf, [forgery.Ca]), unprotected: [0xA1, 0x01, 0x38, 0x22]));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith("cose-sign1:", Find(result, "cose-structure").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AlgOnlyInTheUnprotectedHeader_IsRefused()
    {
        var forgery = MakeChain();
        var result = Verify(Sign1(forgery.LeafKey, Payload(forgery.Leaf, [forgery.Ca]), [0xA0], unprotected: [0xA1, 0x01, 0x38, 0x22]));

        Assert.StartsWith("alg-missing", Find(result, "cose-algorithm").Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("envelope")]
    [InlineData("protected")]
    [InlineData("payload")]
    public void IndefiniteLengths_AreRefused_ThoughTheCoseLibraryAdmitsThem(string where)
    {
        var forgery = MakeChain();
        var payload = Payload(forgery.Leaf, [forgery.Ca]);
        byte[] protectedHeader = where == "protected" ? [0xBF, 0x01, 0x38, 0x22, 0xFF] : [0xA1, 0x01, 0x38, 0x22];
        if (where == "payload")
        {
            payload = [0xBF, .. payload[1..], 0xFF];
        }

        var document = Sign1(forgery.LeafKey, payload, protectedHeader);
        if (where == "envelope")
        {
            document = [0x9F, .. document[1..], 0xFF];
        }

        var result = Verify(document);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Contains("indefinite-length", Find(result, "cose-structure").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NonTextPayloadKey_IsAStructureError()
    {
        var forgery = MakeChain();
        var result = Verify(Sign1(forgery.LeafKey, Payload(forgery.Leaf, [forgery.Ca], extraEntryKey: Uint(7))));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, Find(result, "cose-structure").Status);
    }

    [Fact]
    public void DuplicatePayloadKey_IsAStructureError()
    {
        var forgery = MakeChain();
        var result = Verify(Sign1(forgery.LeafKey, Payload(forgery.Leaf, [forgery.Ca], extraEntryKey: Tstr("nonce"))));

        Assert.Contains("duplicate keys", Find(result, "cose-structure").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFields_AreStructureErrors()
    {
        var forgery = MakeChain();
        var payload = Map((Tstr("module_id"), Tstr("x")), (Tstr("digest"), Tstr("SHA384")));
        var result = Verify(Sign1(forgery.LeafKey, payload));

        Assert.StartsWith("payload-timestamp", Find(result, "cose-structure").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ShortSignature_IsAStructureError()
    {
        var forgery = MakeChain();
        var payload = Payload(forgery.Leaf, [forgery.Ca]);
        var document = Array(Bstr([0xA1, 0x01, 0x38, 0x22]), [0xA0], Bstr(payload), Bstr(new byte[64]));
        var result = Verify(document);

        Assert.StartsWith("signature-length", Find(result, "cose-structure").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ZeroPcrs_InAForgery_AreDebug_AndStillContraindicated()
    {
        var forgery = MakeChain();
        var result = new NitroVerifier().Verify(
            new EvidenceBundle(TeeType.Nitro, Sign1(forgery.LeafKey, Payload(forgery.Leaf, [forgery.Ca], pcrFill: 0)), []),
            new AppraisalPolicy { AllowDebug = true },
            Issued);

        Assert.True(result.Claims.Debug);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
    }
}
