using System.Security.Cryptography;
using Cloister.Crypto.Hpke;

namespace Cloister.Crypto.Tests;

public sealed class HpkeNegativeTests
{
    private static readonly byte[] Info = "cloister/test/v1"u8.ToArray();
    private static readonly byte[] Aad = "aad"u8.ToArray();
    private static readonly byte[] Plaintext = "the plaintext"u8.ToArray();

    // P-256 order n, and a point that is not on the curve (the base point's x with y + 1).
    private static readonly byte[] Order = Convert.FromHexString("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    private static readonly byte[] GeneratorPoint = Convert.FromHexString(
        "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");

    [Fact]
    public void Open_TamperedCiphertext_Throws()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        using HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, HpkeAead.Aes256Gcm, out byte[] enc);
        byte[] ciphertext = sender.Seal(Aad, Plaintext);

        for (int i = 0; i < ciphertext.Length; i++)
        {
            using HpkeRecipientContext receiver = Hpke.Hpke.SetupBaseRecipient(enc, recipient, Info, HpkeAead.Aes256Gcm);
            byte[] tampered = (byte[])ciphertext.Clone();
            tampered[i] ^= 0x01;
            Assert.ThrowsAny<CryptographicException>(() => receiver.Open(Aad, tampered));
        }
    }

    [Fact]
    public void Open_FailureDoesNotAdvanceTheSequence()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        using HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, HpkeAead.Aes128Gcm, out byte[] enc);
        using HpkeRecipientContext receiver = Hpke.Hpke.SetupBaseRecipient(enc, recipient, Info, HpkeAead.Aes128Gcm);
        byte[] ciphertext = sender.Seal(Aad, Plaintext);

        Assert.ThrowsAny<CryptographicException>(() => receiver.Open("other"u8, ciphertext));
        Assert.Equal(Plaintext, receiver.Open(Aad, ciphertext));
    }

    [Fact]
    public void Open_WrongAadInfoAeadOrOrder_Throws()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        using HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, HpkeAead.Aes128Gcm, out byte[] enc);
        byte[] first = sender.Seal(Aad, Plaintext);
        byte[] second = sender.Seal(Aad, Plaintext);

        using (HpkeRecipientContext receiver = Hpke.Hpke.SetupBaseRecipient(enc, recipient, Info, HpkeAead.Aes128Gcm))
        {
            Assert.ThrowsAny<CryptographicException>(() => receiver.Open("aae"u8, first));
            Assert.ThrowsAny<CryptographicException>(() => receiver.Open(Aad, second));
        }

        using (HpkeRecipientContext otherInfo = Hpke.Hpke.SetupBaseRecipient(enc, recipient, "cloister/other/v1"u8, HpkeAead.Aes128Gcm))
        {
            Assert.ThrowsAny<CryptographicException>(() => otherInfo.Open(Aad, first));
        }

        using HpkeRecipientContext otherAead = Hpke.Hpke.SetupBaseRecipient(enc, recipient, Info, HpkeAead.Aes256Gcm);
        Assert.ThrowsAny<CryptographicException>(() => otherAead.Open(Aad, first));
    }

    [Fact]
    public void Open_TamperedEnc_Throws()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        using HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, HpkeAead.Aes256Gcm, out _);
        byte[] ciphertext = sender.Seal(Aad, Plaintext);
        using HpkeKeyPair otherEphemeral = HpkeKeyPair.Generate();

        // A different valid point: decapsulation succeeds but yields other keys.
        using HpkeRecipientContext receiver = Hpke.Hpke.SetupBaseRecipient(otherEphemeral.PublicKey, recipient, Info, HpkeAead.Aes256Gcm);
        Assert.ThrowsAny<CryptographicException>(() => receiver.Open(Aad, ciphertext));
    }

    [Fact]
    public void Open_WrongRecipient_Throws()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        using HpkeKeyPair someoneElse = HpkeKeyPair.Generate();
        using HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, HpkeAead.Aes256Gcm, out byte[] enc);
        byte[] ciphertext = sender.Seal(Aad, Plaintext);

        using HpkeRecipientContext receiver = Hpke.Hpke.SetupBaseRecipient(enc, someoneElse, Info, HpkeAead.Aes256Gcm);
        Assert.ThrowsAny<CryptographicException>(() => receiver.Open(Aad, ciphertext));
    }

    public static TheoryData<string> InvalidPoints()
    {
        string g = Convert.ToHexString(GeneratorPoint);
        string offCurve = g[..^2] + "F6";
        string compressed = "03" + g[2..66];
        string wrongPrefix = "05" + g[2..];
        string xTooLarge = "04" + "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF" + g[66..];
        string zero = "04" + new string('0', 128);
        return [offCurve, compressed, wrongPrefix, xTooLarge, zero, g[..^2], g + "00", string.Empty];
    }

    [Theory]
    [MemberData(nameof(InvalidPoints))]
    public void SetupBaseRecipient_InvalidEnc_Throws(string encHex)
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();

        Assert.ThrowsAny<CryptographicException>(
            () => Hpke.Hpke.SetupBaseRecipient(Convert.FromHexString(encHex), recipient, Info, HpkeAead.Aes256Gcm));
    }

    [Theory]
    [MemberData(nameof(InvalidPoints))]
    public void SetupBaseSender_InvalidRecipientKey_Throws(string publicKeyHex)
    {
        Assert.ThrowsAny<CryptographicException>(
            () => Hpke.Hpke.SetupBaseSender(Convert.FromHexString(publicKeyHex), Info, HpkeAead.Aes256Gcm, out _));
    }

    [Fact]
    public void FromPrivateKey_OutOfRangeScalar_Throws()
    {
        Assert.ThrowsAny<CryptographicException>(() => HpkeKeyPair.FromPrivateKey(new byte[32]));
        Assert.ThrowsAny<CryptographicException>(() => HpkeKeyPair.FromPrivateKey(Order));
        Assert.ThrowsAny<CryptographicException>(() => HpkeKeyPair.FromPrivateKey(new byte[31]));
    }

    [Fact]
    public void Setup_UnknownAead_Throws()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();

        Assert.Throws<ArgumentOutOfRangeException>(
            () => Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, (HpkeAead)3, out _));
    }

    [Fact]
    public void Seal_AtTheMessageLimit_Throws()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        using HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, HpkeAead.Aes128Gcm, out _);
        sender.Context.Sequence = ulong.MaxValue - 1;

        sender.Seal(Aad, Plaintext);
        Assert.ThrowsAny<CryptographicException>(() => sender.Seal(Aad, Plaintext));
    }

    [Fact]
    public void Dispose_ThenUse_Throws()
    {
        HpkeKeyPair recipient = HpkeKeyPair.Generate();
        HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, HpkeAead.Aes128Gcm, out byte[] enc);
        sender.Dispose();
        recipient.Dispose();

        Assert.Throws<ObjectDisposedException>(() => sender.Seal(Aad, Plaintext));
        Assert.Throws<ObjectDisposedException>(() => sender.Export([], 32));
        Assert.Throws<ObjectDisposedException>(() => Hpke.Hpke.SetupBaseRecipient(enc, recipient, Info, HpkeAead.Aes128Gcm));
    }
}
