using System.Security.Cryptography;
using Cloister.Crypto.Hpke;

namespace Cloister.Crypto.Tests;

public sealed class HpkeRoundTripTests
{
    private static readonly byte[] Info = "cloister/test/v1"u8.ToArray();

    [Theory]
    [InlineData(HpkeAead.Aes128Gcm)]
    [InlineData(HpkeAead.Aes256Gcm)]
    public void SealOpen_ManySequenceNumbers_RoundTrip(HpkeAead aead)
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        using HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, aead, out byte[] enc);
        using HpkeRecipientContext receiver = Hpke.Hpke.SetupBaseRecipient(enc, recipient, Info, aead);

        HashSet<string> ciphertexts = [];
        for (int seq = 0; seq < 300; seq++)
        {
            byte[] aad = BitConverter.GetBytes(seq);
            byte[] plaintext = new byte[seq % 40];
            Array.Fill(plaintext, (byte)0x42);

            byte[] ciphertext = sender.Seal(aad, plaintext);

            Assert.Equal(plaintext.Length + 16, ciphertext.Length);
            Assert.Equal(plaintext, receiver.Open(aad, ciphertext));
            ciphertexts.Add(Convert.ToHexString(ciphertext));
        }

        // Equal plaintexts under different sequence numbers never repeat a ciphertext (distinct nonces).
        Assert.Equal(300, ciphertexts.Count);
    }

    [Fact]
    public void Aes256Gcm_UsesA256BitKeyAndDiffersFromAes128()
    {
        byte[] sharedSecret = RandomNumberGenerator.GetBytes(32);
        using HpkeSecrets aes128 = Hpke.Hpke.KeySchedule(sharedSecret, Info, HpkeAead.Aes128Gcm);
        using HpkeSecrets aes256 = Hpke.Hpke.KeySchedule(sharedSecret, Info, HpkeAead.Aes256Gcm);

        Assert.Equal(16, aes128.Key.Length);
        Assert.Equal(32, aes256.Key.Length);
        // The aead id is in the suite_id, so every derived value differs between the two suites.
        Assert.NotEqual(aes128.BaseNonce, aes256.BaseNonce);
        Assert.NotEqual(aes128.ExporterSecret, aes256.ExporterSecret);
    }

    [Theory]
    [InlineData(HpkeAead.Aes128Gcm)]
    [InlineData(HpkeAead.Aes256Gcm)]
    public void Export_SenderAndRecipientAgree(HpkeAead aead)
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        using HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, aead, out byte[] enc);
        using HpkeRecipientContext receiver = Hpke.Hpke.SetupBaseRecipient(enc, recipient, Info, aead);

        foreach (int length in new[] { 1, 32, 64, 8160 })
        {
            byte[] context = "response key"u8.ToArray();
            Assert.Equal(sender.Export(context, length), receiver.Export(context, length));
        }

        Assert.NotEqual(sender.Export("a"u8, 32), receiver.Export("b"u8, 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => sender.Export([], 8161));
        Assert.Throws<ArgumentOutOfRangeException>(() => sender.Export([], 0));
    }

    [Fact]
    public void Setup_FreshEphemeralKeyEachTime()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.Generate();
        using HpkeSenderContext first = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, HpkeAead.Aes256Gcm, out byte[] enc1);
        using HpkeSenderContext second = Hpke.Hpke.SetupBaseSender(recipient.PublicKey, Info, HpkeAead.Aes256Gcm, out byte[] enc2);

        Assert.Equal(65, enc1.Length);
        Assert.NotEqual(enc1, enc2);
        Assert.NotEqual(first.Export([], 32), second.Export([], 32));
    }

    [Fact]
    public void FromPrivateKey_ReproducesAGeneratedKeyPair()
    {
        using HpkeKeyPair generated = HpkeKeyPair.Generate();
        byte[] scalar = generated.ExportPrivateKey();
        using HpkeKeyPair restored = HpkeKeyPair.FromPrivateKey(scalar);

        Assert.Equal(generated.PublicKey, restored.PublicKey);
    }
}
