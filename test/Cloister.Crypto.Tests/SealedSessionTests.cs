using System.Security.Cryptography;
using System.Text;
using Cloister.Crypto.Hpke;

namespace Cloister.Crypto.Tests;

/// <summary>Sessions both ends derive from one HPKE request, and the boxes sealed in them.</summary>
public sealed class SealedSessionTests
{
    private static readonly byte[] Aad = "format=random"u8.ToArray();
    private static readonly byte[] Value = "4111111111111111"u8.ToArray();

    private static (SealedSession Client, SealedSession Worker, byte[] FirstBox) Start(HpkeKeyPair worker)
    {
        byte[] box = SealedBox.Seal(worker.PublicKey, "tokenize", Aad, Value, out SealedReplyKey clientReply, out SealedSession client);
        clientReply.Dispose();
        Assert.Equal(Value, SealedBox.Open(worker, "tokenize", Aad, box, out SealedReplyKey workerReply, out SealedSession opened));
        workerReply.Dispose();
        return (client, opened, box);
    }

    [Fact]
    public void BothEnds_DeriveTheSameSession_AndItsBoxesRoundTripWithTheirReplies()
    {
        using HpkeKeyPair worker = HpkeKeyPair.Generate();
        var (client, opened, first) = Start(worker);

        Assert.Equal(client.IdHex, opened.IdHex);
        Assert.Null(SealedSession.IdOf(first));
        byte[] box = client.Seal("reveal", Aad, Value, out SealedReplyKey clientReply);
        Assert.Equal(SealedSession.Version, box[0]);
        Assert.Equal(Value.Length + SealedSession.Overhead, box.Length);
        Assert.Equal(client.IdHex, SealedSession.IdOf(box));
        Assert.Equal(Value, opened.Open("reveal", Aad, box, out SealedReplyKey workerReply));

        using (clientReply)
        using (workerReply)
        {
            Assert.Equal("answer"u8.ToArray(), clientReply.Open([], workerReply.Seal([], "answer"u8)));
        }
    }

    [Fact]
    public void SessionBoxes_MatchTheDocumentedDerivation()
    {
        using HpkeKeyPair worker = HpkeKeyPair.Generate();
        byte[] first = SealedBox.Seal(worker.PublicKey, "tokenize", Aad, Value, out SealedReplyKey reply, out SealedSession client);
        reply.Dispose();
        using HpkeRecipientContext context = Hpke.Hpke.SetupBaseRecipient(first.AsSpan(2, 65), worker, "cloister/tokenize/v1"u8, HpkeAead.Aes256Gcm);
        byte[] id = context.Export("cloister session id"u8, 16);
        byte[] secret = context.Export("cloister session"u8, 32);
        Assert.Equal(Convert.ToHexStringLower(id), client.IdHex);

        byte[] box = client.Seal("invoke", Aad, Value, out SealedReplyKey boxReply);
        byte[] messageNonce = box.AsSpan(17, 32).ToArray();
        byte[] prk = HKDF.Extract(HashAlgorithmName.SHA256, secret, [.. id, .. messageNonce]);
        using AesGcm aead = new(HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, Encoding.UTF8.GetBytes("key cloister/invoke/v1")), 16);
        byte[] plaintext = new byte[Value.Length];
        aead.Decrypt(HKDF.Expand(HashAlgorithmName.SHA256, prk, 12, Encoding.UTF8.GetBytes("nonce cloister/invoke/v1")), box.AsSpan(49, Value.Length), box.AsSpan(^16), plaintext, Aad);
        Assert.Equal(Value, plaintext);

        // Its reply: the reply-key format with secret = Expand(prk, "reply " + info, 32) and id ‖ message_nonce in the place of enc.
        byte[] answerBox;
        using (boxReply)
        {
            answerBox = boxReply.Seal([], "answer"u8);
        }

        byte[] replySecret = HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, Encoding.UTF8.GetBytes("reply cloister/invoke/v1"));
        byte[] replyPrk = HKDF.Extract(HashAlgorithmName.SHA256, replySecret, [.. id, .. messageNonce, .. answerBox.AsSpan(1, 32)]);
        using AesGcm replyAead = new(HKDF.Expand(HashAlgorithmName.SHA256, replyPrk, 32, "key"u8.ToArray()), 16);
        byte[] answer = new byte[6];
        replyAead.Decrypt(HKDF.Expand(HashAlgorithmName.SHA256, replyPrk, 12, "nonce"u8.ToArray()), answerBox.AsSpan(33, 6), answerBox.AsSpan(^16), answer, []);
        Assert.Equal("answer"u8.ToArray(), answer);
    }

    [Fact]
    public void Open_RefusesEveryBitFlip_AnotherPurposeOrAad_AndAnotherSessionsBox()
    {
        using HpkeKeyPair worker = HpkeKeyPair.Generate();
        var (client, opened, _) = Start(worker);
        var (other, _, _) = Start(worker);
        byte[] box = client.Seal("tokenize", Aad, Value, out SealedReplyKey reply);
        reply.Dispose();

        for (int i = 0; i < box.Length * 8; i++)
        {
            byte[] tampered = (byte[])box.Clone();
            tampered[i / 8] ^= (byte)(1 << (i % 8));
            Assert.ThrowsAny<CryptographicException>(() => opened.Open("tokenize", Aad, tampered, out _));
        }

        Assert.ThrowsAny<CryptographicException>(() => opened.Open("reveal", Aad, box, out _));
        Assert.ThrowsAny<CryptographicException>(() => opened.Open("tokenize", "format=numeric"u8, box, out _));
        Assert.ThrowsAny<CryptographicException>(() => opened.Open("tokenize", Aad, other.Seal("tokenize", Aad, Value, out _), out _));
        Assert.ThrowsAny<CryptographicException>(() => opened.Open("tokenize", Aad, box.AsSpan(0, SealedSession.Overhead - 1), out _));
    }

    [Fact]
    public void EveryRequest_StartsItsOwnSession_AndEveryBoxDrawsAFreshNonce()
    {
        using HpkeKeyPair worker = HpkeKeyPair.Generate();
        var (a, _, _) = Start(worker);
        var (b, _, _) = Start(worker);

        Assert.NotEqual(a.IdHex, b.IdHex);
        Assert.NotEqual(a.Seal("tokenize", Aad, Value, out _), a.Seal("tokenize", Aad, Value, out _));
    }
}
