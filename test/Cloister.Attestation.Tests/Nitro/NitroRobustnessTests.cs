using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text;
using Cloister.Attestation.Nitro;

namespace Cloister.Attestation.Tests.Nitro;

public sealed class NitroRobustnessTests
{
    private static readonly AppraisalPolicy DefaultPolicy = new();

    private static AttestationResult Verify(NitroVerifier verifier, byte[] bytes) => verifier.Verify(NitroVectors.Bundle(bytes), DefaultPolicy, NitroVectors.ValidAt);

    /// <summary>Offsets of the protected header and payload bytes (what the Sig_structure covers) and of the signature.</summary>
    private static (int ProtectedStart, int ProtectedLength, int PayloadStart, int PayloadLength, int SignatureStart) Layout(byte[] document)
    {
        var reader = new CborReader(document);
        Assert.Equal(4, reader.ReadStartArray());
        var (protectedStart, protectedLength) = ByteString(reader, document.Length);
        reader.SkipValue();
        var (payloadStart, payloadLength) = ByteString(reader, document.Length);
        var (signatureStart, _) = ByteString(reader, document.Length);
        return (protectedStart, protectedLength, payloadStart, payloadLength, signatureStart);
    }

    /// <summary>Where the next byte string's content starts in the document, and its length.</summary>
    private static (int Start, int Length) ByteString(CborReader reader, int documentLength)
    {
        var content = reader.ReadByteString();
        return (documentLength - reader.BytesRemaining - content.Length, content.Length);
    }

    [Fact]
    public void Mutation_EveryByteOfTheSignedRegionAndSignature_NeverVerifies()
    {
        var original = NitroVectors.Valid;
        var (protectedStart, protectedLength, payloadStart, payloadLength, signatureStart) = Layout(original);
        var positions = Enumerable.Range(protectedStart, protectedLength)
            .Concat(Enumerable.Range(payloadStart, payloadLength))
            .Concat(Enumerable.Range(signatureStart, 96))
            .ToList();
        Assert.True(positions.Count >= 2000);

        var random = new Random(4654);
        var verifier = new NitroVerifier();
        Assert.Equal(Verdict.Affirming, Verify(verifier, original).Verdict);
        foreach (var position in positions)
        {
            var mutated = (byte[])original.Clone();
            mutated[position] ^= (byte)random.Next(1, 256);

            var result = Verify(verifier, mutated);

            Assert.True(result.Verdict == Verdict.Contraindicated, $"byte {position} flipped gave {result.Verdict}");
        }
    }

    [Fact]
    public void Mutation_HeaderBytesOutsideTheSignedRegion_NeverVerify()
    {
        var original = NitroVectors.Valid;
        var (_, _, payloadStart, _, _) = Layout(original);
        var verifier = new NitroVerifier();
        for (var position = 0; position < payloadStart; position++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var mutated = (byte[])original.Clone();
                mutated[position] ^= (byte)(1 << bit);
                Assert.Equal(Verdict.Contraindicated, Verify(verifier, mutated).Verdict);
            }
        }
    }

    [Fact]
    public void EveryTruncation_IsContraindicated()
    {
        var original = NitroVectors.Valid;
        var verifier = new NitroVerifier();
        for (var length = 0; length < original.Length; length++)
        {
            var result = Verify(verifier, original[..length]);
            Assert.Equal(Verdict.Contraindicated, result.Verdict);
        }
    }

    [Fact]
    public void TrailingBytes_AreContraindicated()
    {
        var result = Verify(new NitroVerifier(), [.. NitroVectors.Valid, 0x00]);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Contains("trailing-bytes", Assert.Single(result.Checks, c => c.Name == "cose-structure").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TaggedDocument_IsAccepted()
    {
        var result = Verify(new NitroVerifier(), [0xD2, .. NitroVectors.Valid]);

        Assert.Equal(Verdict.Affirming, result.Verdict);
    }

    [Fact]
    public void OtherTag_IsContraindicated()
    {
        var result = Verify(new NitroVerifier(), [0xD1, .. NitroVectors.Valid]);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
    }

    [Fact]
    public void EmptyInput_IsContraindicated()
    {
        var result = Verify(new NitroVerifier(), []);

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith("empty:", Assert.Single(result.Checks).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomInputs_AreContraindicated_WithoutExceptions()
    {
        var random = new Random(1013);
        var verifier = new NitroVerifier();
        for (var i = 0; i < 3000; i++)
        {
            var bytes = new byte[random.Next(1, 8192)];
            random.NextBytes(bytes);
            if (i % 3 == 0)
            {
                bytes[0] = 0x84;
            }

            Assert.Equal(Verdict.Contraindicated, Verify(verifier, bytes).Verdict);
        }
    }

    [Fact]
    public void RandomBase64Text_IsContraindicated()
    {
        var random = new Random(2023);
        var verifier = new NitroVerifier();
        for (var i = 0; i < 500; i++)
        {
            var bytes = new byte[random.Next(1, 4096)];
            random.NextBytes(bytes);
            var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(bytes));
            Assert.Equal(Verdict.Contraindicated, Verify(verifier, text).Verdict);
        }

        Assert.Equal(Verdict.Contraindicated, Verify(verifier, "not base64!"u8.ToArray()).Verdict);
        Assert.Equal(Verdict.Contraindicated, Verify(verifier, "QUJD="u8.ToArray()).Verdict);
    }

    [Theory]
    [InlineData(0x84)]
    [InlineData(0x00)]
    [InlineData((byte)'A')]
    [InlineData(0xD2)]
    public void HundredMegabyteInput_IsRejectedWithBoundedAllocation(byte fill)
    {
        var bytes = new byte[100 * 1024 * 1024];
        Array.Fill(bytes, fill);
        var verifier = new NitroVerifier();
        var before = GC.GetAllocatedBytesForCurrentThread();

        var result = Verify(verifier, bytes);

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024 * 1024);
        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith("too-large:", Assert.Single(result.Checks, c => c.Name == "cose-structure").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void PinnedRoot_IsTheVectorsNitroRoot_WithTheDocumentedFingerprint()
    {
        var pem = File.ReadAllText(Path.Combine(NitroVectors.Directory, "evervault_nitro.pem"));
        using var fromVector = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(pem);
        using var pinned = NitroRoot.Load();

        Assert.Equal(fromVector.RawData, pinned.RawData);
        Assert.Equal(NitroRoot.Sha256Hex, Convert.ToHexStringLower(SHA256.HashData(pinned.RawData)));
        Assert.True(NitroRoot.IsPinnedRoot(fromVector.RawData));
        Assert.False(NitroRoot.IsPinnedRoot(NitroVectors.Read("evervault_valid-certificate.der")));
    }

    [Fact]
    public void ConcurrentVerifications_ShareTheCacheSafely()
    {
        var verifier = new NitroVerifier(chainCacheCapacity: 4);
        var documents = new[] { NitroVectors.Valid, NitroVectors.DebugDoc };
        var verdicts = new Verdict[64];
        Parallel.For(0, verdicts.Length, i =>
        {
            var document = documents[i % 2];
            var at = i % 2 == 0 ? NitroVectors.ValidAt : NitroVectors.DebugAt;
            verdicts[i] = verifier.Verify(NitroVectors.Bundle(document), DefaultPolicy, at).Verdict;
        });

        for (var i = 0; i < verdicts.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? Verdict.Affirming : Verdict.Contraindicated, verdicts[i]);
        }

        Assert.True(verifier.CachedChains <= 4);
    }
}
