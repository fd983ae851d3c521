using System.Security.Cryptography;
using System.Text;

namespace Cloister.Crypto.Hpke;

/// <summary>
/// A sealing session: the client and the worker both derive it from one HPKE request (<see cref="SealedBox"/>), and
/// the client's later requests to the same worker are sealed with it, so they cost no key agreement. The worker keeps
/// the sessions it saw for a while; a request for a session it no longer knows is refused and the client falls back
/// to HPKE (which starts a new session).
/// </summary>
/// <remarks>
/// From the HPKE request's context: <c>id = Export("cloister session id", 16)</c> (sent in the clear),
/// <c>secret = Export("cloister session", 32)</c>. Each message draws a random 32-byte <c>message_nonce</c>;
/// with <c>info = "cloister/" + purpose + "/v1"</c>: <c>prk = HKDF-Extract(salt = id ‖ message_nonce, secret)</c>,
/// <c>key = HKDF-Expand(prk, "key " + info, 32)</c>, <c>nonce = HKDF-Expand(prk, "nonce " + info, 12)</c>, and the
/// message's reply key secret <c>HKDF-Expand(prk, "reply " + info, 32)</c> with <c>id ‖ message_nonce</c> in the place
/// of enc (<see cref="SealedReplyKey"/>). Box: <c>0x03 ‖ id ‖ message_nonce ‖ AES-256-GCM(key, nonce, aad, plaintext) ‖ tag</c>.
/// Immutable and thread safe; the secret stays in memory until the session is collected.
/// </remarks>
public sealed class SealedSession
{
    /// <summary>The session box's version byte.</summary>
    public const byte Version = 0x03;

    /// <summary>Bytes of a session id.</summary>
    public const int IdSize = 16;

    /// <summary>Bytes a session box adds to its plaintext.</summary>
    public const int Overhead = 1 + IdSize + MessageNonceSize + HpkeContext.TagSize;

    private const int MessageNonceSize = 32;
    private const int KeySize = 32;
    private const int HeaderSize = 1 + IdSize + MessageNonceSize;

    private readonly byte[] _id;
    private readonly byte[] _secret;

    private SealedSession(byte[] id, byte[] secret)
    {
        _id = id;
        _secret = secret;
        IdHex = Convert.ToHexStringLower(id);
    }

    /// <summary>The session id, lower-case hex.</summary>
    public string IdHex { get; }

    /// <summary>The session id of a session box, lower-case hex; null when <paramref name="box"/> is not one.</summary>
    public static string? IdOf(ReadOnlySpan<byte> box) => box.Length >= Overhead && box[0] == Version ? Convert.ToHexStringLower(box.Slice(1, IdSize)) : null;

    /// <summary>Seals a request of <paramref name="purpose"/>; <paramref name="replyKey"/> opens its answer (the caller disposes it).</summary>
    public byte[] Seal(string purpose, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, out SealedReplyKey replyKey)
    {
        byte[] box = new byte[Overhead + plaintext.Length];
        box[0] = Version;
        _id.CopyTo(box, 1);
        Span<byte> messageNonce = box.AsSpan(1 + IdSize, MessageNonceSize);
        RandomNumberGenerator.Fill(messageNonce);
        using AesGcm aead = Derive(purpose, messageNonce, out byte[] nonce, out replyKey);
        aead.Encrypt(nonce, plaintext, box.AsSpan(HeaderSize, plaintext.Length), box.AsSpan(box.Length - HpkeContext.TagSize), aad);
        return box;
    }

    /// <summary>
    /// Opens a session box of <paramref name="purpose"/>; <paramref name="replyKey"/> seals its answer (the caller disposes
    /// it). Throws <see cref="CryptographicException"/> when the box is malformed, of another session, or does not authenticate.
    /// </summary>
    public byte[] Open(string purpose, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> box, out SealedReplyKey replyKey)
    {
        if (box.Length < Overhead || box[0] != Version || !box.Slice(1, IdSize).SequenceEqual(_id))
        {
            throw new CryptographicException("Sealed box is not a box of this session.");
        }

        using AesGcm aead = Derive(purpose, box.Slice(1 + IdSize, MessageNonceSize), out byte[] nonce, out SealedReplyKey key);
        byte[] plaintext = new byte[box.Length - Overhead];
        try
        {
            aead.Decrypt(nonce, box[HeaderSize..^HpkeContext.TagSize], box[^HpkeContext.TagSize..], plaintext, aad);
        }
        catch
        {
            key.Dispose();
            throw;
        }

        replyKey = key;
        return plaintext;
    }

    /// <summary>The session of an HPKE request context.</summary>
    internal static SealedSession FromContext(HpkeContext context) => new(context.Export("cloister session id"u8, IdSize), context.Export("cloister session"u8, KeySize));

    private AesGcm Derive(string purpose, ReadOnlySpan<byte> messageNonce, out byte[] nonce, out SealedReplyKey replyKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        string info = "cloister/" + purpose + "/v1";
        byte[] salt = [.. _id, .. messageNonce];
        byte[] prk = HKDF.Extract(HashAlgorithmName.SHA256, _secret, salt);
        byte[] key = HKDF.Expand(HashAlgorithmName.SHA256, prk, KeySize, Encoding.UTF8.GetBytes("key " + info));
        try
        {
            nonce = HKDF.Expand(HashAlgorithmName.SHA256, prk, HpkeContext.NonceSize, Encoding.UTF8.GetBytes("nonce " + info));
            replyKey = SealedReplyKey.FromSecret(HKDF.Expand(HashAlgorithmName.SHA256, prk, KeySize, Encoding.UTF8.GetBytes("reply " + info)), salt);
            return new AesGcm(key, HpkeContext.TagSize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(prk);
            CryptographicOperations.ZeroMemory(key);
        }
    }
}
