using System.Security.Cryptography;
using Cloister.Crypto.Hpke;

namespace Cloister.Crypto.Tests;

public sealed class HpkeSealedBoxTests
{
    private static readonly byte[] Aad = "tenant-1"u8.ToArray();
    private static readonly byte[] Plaintext = "4111111111111111"u8.ToArray();

    [Theory]
    [InlineData(HpkeAead.Aes128Gcm)]
    [InlineData(HpkeAead.Aes256Gcm)]
    public void SealOpen_RoundTripsWithTheDocumentedLayout(HpkeAead aead)
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();

        byte[] box = SealedBox.Seal(recipient.PublicKey, "tokenize", Aad, Plaintext, aead);

        Assert.Equal(Plaintext.Length + SealedBox.Overhead, box.Length);
        Assert.Equal(0x01, box[0]);
        Assert.Equal((byte)aead, box[1]);
        Assert.Equal(0x04, box[2]);
        Assert.Equal(Plaintext, SealedBox.Open(recipient, "tokenize", Aad, box));
    }

    [Fact]
    public void Seal_DefaultsToAes256Gcm()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();

        Assert.Equal((byte)HpkeAead.Aes256Gcm, SealedBox.Seal(recipient.PublicKey, "p", [], Plaintext)[1]);
    }

    [Fact]
    public void Seal_UsesTheCloisterInfoString()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        byte[] box = SealedBox.Seal(recipient.PublicKey, "reveal", Aad, Plaintext, HpkeAead.Aes128Gcm);

        using HpkeRecipientContext context = Hpke.Hpke.SetupBaseRecipient(box.AsSpan(2, 65), recipient, "cloister/reveal/v1"u8, HpkeAead.Aes128Gcm);
        Assert.Equal(Plaintext, context.Open(Aad, box.AsSpan(67)));
    }

    [Fact]
    public void Open_EverySingleBitFlip_Throws()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        byte[] box = SealedBox.Seal(recipient.PublicKey, "invoke", Aad, Plaintext);

        for (int i = 0; i < box.Length * 8; i++)
        {
            byte[] tampered = (byte[])box.Clone();
            tampered[i / 8] ^= (byte)(1 << (i % 8));
            Assert.ThrowsAny<CryptographicException>(() => SealedBox.Open(recipient, "invoke", Aad, tampered));
        }
    }

    [Fact]
    public void Open_WrongPurposeAadOrRecipient_Throws()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        using HpkeKeyPair other = HpkeKeyPair.Generate();
        byte[] box = SealedBox.Seal(recipient.PublicKey, "invoke", Aad, Plaintext);

        Assert.ThrowsAny<CryptographicException>(() => SealedBox.Open(recipient, "reveal", Aad, box));
        Assert.ThrowsAny<CryptographicException>(() => SealedBox.Open(recipient, "invoke", "tenant-2"u8, box));
        Assert.ThrowsAny<CryptographicException>(() => SealedBox.Open(other, "invoke", Aad, box));
    }

    [Fact]
    public void Open_TruncatedBox_ThrowsWithoutData()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        byte[] box = SealedBox.Seal(recipient.PublicKey, "invoke", Aad, Plaintext);

        for (int length = 0; length < box.Length; length++)
        {
            CryptographicException error = Assert.ThrowsAny<CryptographicException>(
                () => SealedBox.Open(recipient, "invoke", Aad, box.AsSpan(0, length)));
            Assert.DoesNotContain(Convert.ToHexString(box.AsSpan(2, 8)), error.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData(0, 0x02)]
    [InlineData(0, 0x00)]
    [InlineData(1, 0x00)]
    [InlineData(1, 0x03)]
    public void Open_UnknownVersionOrAead_Throws(int index, byte value)
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        byte[] box = SealedBox.Seal(recipient.PublicKey, "invoke", Aad, Plaintext);
        box[index] = value;

        Assert.ThrowsAny<CryptographicException>(() => SealedBox.Open(recipient, "invoke", Aad, box));
    }

    [Fact]
    public void Open_EmptyPlaintext_RoundTrips()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        byte[] box = SealedBox.Seal(recipient.PublicKey, "invoke", Aad, []);

        Assert.Equal(SealedBox.Overhead, box.Length);
        Assert.Empty(SealedBox.Open(recipient, "invoke", Aad, box));
    }

    [Fact]
    public void Seal_EmptyPurpose_Throws()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();

        Assert.Throws<ArgumentException>(() => SealedBox.Seal(recipient.PublicKey, string.Empty, Aad, Plaintext));
    }
}
