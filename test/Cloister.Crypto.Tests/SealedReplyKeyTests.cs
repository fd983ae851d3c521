using System.Security.Cryptography;
using Cloister.Crypto.Hpke;

namespace Cloister.Crypto.Tests;

/// <summary>The answer to a sealed request, under the key both ends derive from the request's HPKE context.</summary>
public sealed class SealedReplyKeyTests
{
    private static readonly byte[] Request = "{\"tokens\":[\"tok_1\"]}"u8.ToArray();
    private static readonly byte[] Reply = "4111111111111111"u8.ToArray();
    private static readonly byte[] ReplyAad = "tok_1"u8.ToArray();

    [Fact]
    public void ClientSeal_WorkerOpen_WorkerReplies_ClientOpens()
    {
        using HpkeKeyPair worker = HpkeKeyPair.Generate();
        byte[] box = SealedBox.Seal(worker.PublicKey, "reveal", [], Request, out SealedReplyKey clientKey);
        using (clientKey)
        {
            Assert.Equal(Request, SealedBox.Open(worker, "reveal", [], box, out SealedReplyKey workerKey));
            byte[] reply;
            using (workerKey)
            {
                reply = workerKey.Seal(ReplyAad, Reply);
            }

            Assert.Equal(Reply.Length + SealedReplyKey.Overhead, reply.Length);
            Assert.Equal(SealedReplyKey.Version, reply[0]);
            Assert.Equal(Reply, clientKey.Open(ReplyAad, reply));
        }
    }

    [Fact]
    public void Reply_MatchesTheDocumentedDerivation()
    {
        // docs/api.md "Sealed requests": secret = Export("cloister reply", 32); prk = HKDF-Extract(enc ‖ reply_nonce, secret);
        // key = Expand(prk, "key", 32), nonce = Expand(prk, "nonce", 12); reply = 0x02 ‖ reply_nonce ‖ AES-256-GCM.
        using HpkeKeyPair worker = HpkeKeyPair.Generate();
        byte[] box = SealedBox.Seal(worker.PublicKey, "invoke", [], Request, out SealedReplyKey clientKey);
        using (clientKey)
        {
            byte[] reply = clientKey.Seal(ReplyAad, Reply);

            byte[] enc = box.AsSpan(2, 65).ToArray();
            using HpkeRecipientContext context = Hpke.Hpke.SetupBaseRecipient(enc, worker, "cloister/invoke/v1"u8, HpkeAead.Aes256Gcm);
            byte[] secret = context.Export("cloister reply"u8, 32);
            byte[] replyNonce = reply.AsSpan(1, 32).ToArray();
            byte[] prk = HKDF.Extract(HashAlgorithmName.SHA256, secret, [.. enc, .. replyNonce]);
            using AesGcm aead = new(HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, "key"u8.ToArray()), 16);
            byte[] plaintext = new byte[Reply.Length];
            aead.Decrypt(HKDF.Expand(HashAlgorithmName.SHA256, prk, 12, "nonce"u8.ToArray()), reply.AsSpan(33, Reply.Length), reply.AsSpan(^16), plaintext, ReplyAad);
            Assert.Equal(Reply, plaintext);
        }
    }

    [Fact]
    public void EachReply_DrawsAFreshNonce()
    {
        using HpkeKeyPair worker = HpkeKeyPair.Generate();
        _ = SealedBox.Seal(worker.PublicKey, "reveal", [], Request, out SealedReplyKey key);
        using (key)
        {
            Assert.NotEqual(key.Seal(ReplyAad, Reply), key.Seal(ReplyAad, Reply));
        }
    }

    [Fact]
    public void Open_RefusesEveryBitFlip_OtherAad_AndAnotherRequestsKey()
    {
        using HpkeKeyPair worker = HpkeKeyPair.Generate();
        _ = SealedBox.Seal(worker.PublicKey, "reveal", [], Request, out SealedReplyKey key);
        _ = SealedBox.Seal(worker.PublicKey, "reveal", [], Request, out SealedReplyKey otherRequest);
        using (key)
        using (otherRequest)
        {
            byte[] reply = key.Seal(ReplyAad, Reply);
            for (int i = 0; i < reply.Length * 8; i++)
            {
                byte[] tampered = (byte[])reply.Clone();
                tampered[i / 8] ^= (byte)(1 << (i % 8));
                Assert.ThrowsAny<CryptographicException>(() => key.Open(ReplyAad, tampered));
            }

            Assert.ThrowsAny<CryptographicException>(() => key.Open("tok_2"u8, reply));
            Assert.ThrowsAny<CryptographicException>(() => otherRequest.Open(ReplyAad, reply));
            Assert.ThrowsAny<CryptographicException>(() => key.Open(ReplyAad, reply.AsSpan(0, SealedReplyKey.Overhead - 1)));
        }
    }

    [Fact]
    public void ReplyKeys_DependOnThePurpose()
    {
        // The purpose is in the request's HPKE info: a reply key of a reveal box is not that of an invoke box.
        using HpkeKeyPair worker = HpkeKeyPair.Generate();
        byte[] box = SealedBox.Seal(worker.PublicKey, "reveal", [], Request, out SealedReplyKey key);
        using (key)
        {
            using HpkeRecipientContext asInvoke = Hpke.Hpke.SetupBaseRecipient(box.AsSpan(2, 65), worker, "cloister/invoke/v1"u8, HpkeAead.Aes256Gcm);
            using HpkeRecipientContext asReveal = Hpke.Hpke.SetupBaseRecipient(box.AsSpan(2, 65), worker, "cloister/reveal/v1"u8, HpkeAead.Aes256Gcm);
            Assert.NotEqual(asInvoke.Export("cloister reply"u8, 32), asReveal.Export("cloister reply"u8, 32));
        }
    }

    [Fact]
    public void Disposed_KeyRefusesToWork()
    {
        using HpkeKeyPair worker = HpkeKeyPair.Generate();
        _ = SealedBox.Seal(worker.PublicKey, "reveal", [], Request, out SealedReplyKey key);
        key.Dispose();

        Assert.Throws<ObjectDisposedException>(() => key.Seal(ReplyAad, Reply));
    }
}
