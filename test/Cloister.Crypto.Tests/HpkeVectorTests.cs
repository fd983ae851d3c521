using Cloister.Crypto.Hpke;

namespace Cloister.Crypto.Tests;

/// <summary>RFC 9180 Appendix A.3.1: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode.</summary>
public sealed class HpkeVectorTests
{
    private static HpkeVector V => HpkeTestSupport.Vector;

    [Fact]
    public void DeriveKeyPair_MatchesEphemeralAndRecipientKeys()
    {
        using HpkeKeyPair ephemeral = HpkeKeyPair.Derive(V.IkmE);
        using HpkeKeyPair recipient = HpkeKeyPair.Derive(V.IkmR);

        Assert.Equal(V.SkEm, ephemeral.ExportPrivateKey());
        Assert.Equal(V.PkEm, ephemeral.PublicKey);
        Assert.Equal(V.SkRm, recipient.ExportPrivateKey());
        Assert.Equal(V.PkRm, recipient.PublicKey);
    }

    [Fact]
    public void FromPrivateKey_ComputesThePublicKey()
    {
        using HpkeKeyPair recipient = HpkeKeyPair.FromPrivateKey(V.SkRm);

        Assert.Equal(V.PkRm, recipient.PublicKey);
    }

    [Fact]
    public void EncapAndDecap_GiveEncAndSharedSecret()
    {
        using HpkeKeyPair ephemeral = HpkeKeyPair.Derive(V.IkmE);
        using HpkeKeyPair recipient = HpkeKeyPair.Derive(V.IkmR);

        byte[] senderSecret = DhKemP256.Encap(V.PkRm, ephemeral, out byte[] enc);
        byte[] recipientSecret = DhKemP256.Decap(V.Enc, recipient);

        Assert.Equal(V.Enc, enc);
        Assert.Equal(V.SharedSecret, senderSecret);
        Assert.Equal(V.SharedSecret, recipientSecret);
    }

    [Fact]
    public void KeySchedule_GivesKeyBaseNonceAndExporterSecret()
    {
        using HpkeSecrets secrets = Hpke.Hpke.KeySchedule(V.SharedSecret, V.Info, HpkeAead.Aes128Gcm);

        Assert.Equal(V.Key, secrets.Key);
        Assert.Equal(V.BaseNonce, secrets.BaseNonce);
        Assert.Equal(V.ExporterSecret, secrets.ExporterSecret);
    }

    [Fact]
    public void Encryptions_SenderSealsAndRecipientOpensEveryListedMessage()
    {
        Assert.Equal([0, 1, 2, 4, 255], V.Encryptions.Select(e => e.SequenceNumber));
        Dictionary<int, HpkeEncryption> listed = V.Encryptions.ToDictionary(e => e.SequenceNumber);
        using HpkeKeyPair ephemeral = HpkeKeyPair.Derive(V.IkmE);
        using HpkeKeyPair recipient = HpkeKeyPair.Derive(V.IkmR);
        using HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(V.PkRm, V.Info, HpkeAead.Aes128Gcm, ephemeral, out byte[] enc);
        using HpkeRecipientContext receiver = Hpke.Hpke.SetupBaseRecipient(enc, recipient, V.Info, HpkeAead.Aes128Gcm);
        Assert.Equal(V.Enc, enc);

        int checkedCount = 0;
        for (int seq = 0; seq <= 255; seq++)
        {
            // Unlisted sequence numbers only advance both contexts, with a message of our own.
            bool isListed = listed.TryGetValue(seq, out HpkeEncryption? vector);
            byte[] aad = isListed ? vector!.Aad : [(byte)seq];
            byte[] plaintext = isListed ? vector!.Plaintext : [(byte)seq, 0x5a];

            byte[] ciphertext = sender.Seal(aad, plaintext);
            byte[] opened = receiver.Open(aad, ciphertext);

            Assert.Equal(plaintext, opened);
            if (isListed)
            {
                Assert.Equal(vector!.Ciphertext, ciphertext);
                checkedCount++;
            }
        }

        Assert.Equal(V.Encryptions.Count, checkedCount);
    }

    [Fact]
    public void Exports_SenderAndRecipientGiveTheListedValues()
    {
        using HpkeKeyPair ephemeral = HpkeKeyPair.Derive(V.IkmE);
        using HpkeKeyPair recipient = HpkeKeyPair.Derive(V.IkmR);
        using HpkeSenderContext sender = Hpke.Hpke.SetupBaseSender(V.PkRm, V.Info, HpkeAead.Aes128Gcm, ephemeral, out byte[] enc);
        using HpkeRecipientContext receiver = Hpke.Hpke.SetupBaseRecipient(enc, recipient, V.Info, HpkeAead.Aes128Gcm);

        Assert.Equal(2, V.Exports.Count);
        foreach (HpkeExport export in V.Exports)
        {
            Assert.Equal(export.Value, sender.Export(export.Context, export.Length));
            Assert.Equal(export.Value, receiver.Export(export.Context, export.Length));
        }
    }
}
