using System.Security.Cryptography;
using System.Text;

namespace Cloister.Crypto.Hpke;

/// <summary>
/// Single-shot sealing with our wire format: <c>0x01 ‖ aead id (1 byte) ‖ enc (65 bytes) ‖ ciphertext</c>,
/// HPKE info = <c>"cloister/" + purpose + "/v1"</c>. Used for everything sealed to a worker; the worker's answers
/// travel under the request's <see cref="SealedReplyKey"/>.
/// </summary>
/// <remarks>
/// The header needs no extra binding: the aead id is part of the HPKE suite_id and enc is part of the KEM context,
/// so changing either changes the keys and the box no longer authenticates.
/// </remarks>
public static class SealedBox
{
    /// <summary>The format version byte.</summary>
    public const byte Version = 0x01;

    /// <summary>Bytes a box adds to its plaintext: header, enc and the AEAD tag.</summary>
    public const int Overhead = HeaderSize + HpkeContext.TagSize;

    private const int HeaderSize = 2 + DhKemP256.PublicKeySize;

    /// <summary>Seal <paramref name="plaintext"/> to <paramref name="recipientPublicKey"/> (AES-256-GCM unless told otherwise).</summary>
    /// <exception cref="CryptographicException">The recipient key is not a valid P-256 point.</exception>
    public static byte[] Seal(ReadOnlySpan<byte> recipientPublicKey, string purpose, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, HpkeAead aead = HpkeAead.Aes256Gcm)
    {
        byte[] info = Info(purpose);
        using HpkeSenderContext sender = Hpke.SetupBaseSender(recipientPublicKey, info, aead, out byte[] enc);
        return Box(aead, enc, sender.Seal(aad, plaintext));
    }

    /// <summary>
    /// Seal a request to <paramref name="recipientPublicKey"/>; <paramref name="replyKey"/> opens the recipient's answer
    /// (<see cref="SealedReplyKey"/>; the caller disposes it), and <paramref name="session"/> seals later requests to the
    /// same recipient without a key agreement (<see cref="SealedSession"/>).
    /// </summary>
    /// <exception cref="CryptographicException">The recipient key is not a valid P-256 point.</exception>
    public static byte[] Seal(ReadOnlySpan<byte> recipientPublicKey, string purpose, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, out SealedReplyKey replyKey, out SealedSession session)
    {
        byte[] info = Info(purpose);
        using HpkeSenderContext sender = Hpke.SetupBaseSender(recipientPublicKey, info, HpkeAead.Aes256Gcm, out byte[] enc);
        byte[] box = Box(HpkeAead.Aes256Gcm, enc, sender.Seal(aad, plaintext));
        replyKey = SealedReplyKey.FromContext(sender.Context, enc);
        session = SealedSession.FromContext(sender.Context);
        return box;
    }

    /// <summary>Seal a request to <paramref name="recipientPublicKey"/>; <paramref name="replyKey"/> opens the answer (the caller disposes it).</summary>
    /// <exception cref="CryptographicException">The recipient key is not a valid P-256 point.</exception>
    public static byte[] Seal(ReadOnlySpan<byte> recipientPublicKey, string purpose, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, out SealedReplyKey replyKey)
        => Seal(recipientPublicKey, purpose, aad, plaintext, out replyKey, out _);

    /// <summary>Open a box; throws <see cref="CryptographicException"/> when it is malformed or does not authenticate.</summary>
    public static byte[] Open(HpkeKeyPair recipient, string purpose, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> box)
    {
        using HpkeRecipientContext context = OpenContext(recipient, purpose, box);
        return context.Open(aad, box[HeaderSize..]);
    }

    /// <summary>
    /// Open a request box; <paramref name="replyKey"/> seals the answer so that only the box's sender opens it
    /// (<see cref="SealedReplyKey"/>; the caller disposes it), and <paramref name="session"/> opens the sender's later
    /// session boxes (<see cref="SealedSession"/>). Throws <see cref="CryptographicException"/> when the box is malformed
    /// or does not authenticate.
    /// </summary>
    public static byte[] Open(HpkeKeyPair recipient, string purpose, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> box, out SealedReplyKey replyKey, out SealedSession session)
    {
        using HpkeRecipientContext context = OpenContext(recipient, purpose, box);
        byte[] plaintext = context.Open(aad, box[HeaderSize..]);
        replyKey = SealedReplyKey.FromContext(context.Context, box.Slice(2, DhKemP256.PublicKeySize).ToArray());
        session = SealedSession.FromContext(context.Context);
        return plaintext;
    }

    /// <summary>Open a request box; <paramref name="replyKey"/> seals the answer (the caller disposes it).</summary>
    public static byte[] Open(HpkeKeyPair recipient, string purpose, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> box, out SealedReplyKey replyKey)
        => Open(recipient, purpose, aad, box, out replyKey, out _);

    private static HpkeRecipientContext OpenContext(HpkeKeyPair recipient, string purpose, ReadOnlySpan<byte> box)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        byte[] info = Info(purpose);
        if (box.Length < Overhead)
        {
            throw new CryptographicException("Sealed box is too short.");
        }

        if (box[0] != Version)
        {
            throw new CryptographicException("Sealed box has an unknown version.");
        }

        HpkeAead aead = box[1] switch
        {
            (byte)HpkeAead.Aes128Gcm => HpkeAead.Aes128Gcm,
            (byte)HpkeAead.Aes256Gcm => HpkeAead.Aes256Gcm,
            _ => throw new CryptographicException("Sealed box has an unknown AEAD."),
        };
        return Hpke.SetupBaseRecipient(box.Slice(2, DhKemP256.PublicKeySize), recipient, info, aead);
    }

    private static byte[] Box(HpkeAead aead, byte[] enc, byte[] ciphertext) => [Version, (byte)aead, .. enc, .. ciphertext];

    private static byte[] Info(string purpose)
    {
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        return Encoding.UTF8.GetBytes("cloister/" + purpose + "/v1");
    }
}
