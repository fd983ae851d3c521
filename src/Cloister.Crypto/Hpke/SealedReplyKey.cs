using System.Security.Cryptography;

namespace Cloister.Crypto.Hpke;

/// <summary>
/// The key the answer to a sealed request travels under, derived from the request's HPKE context after Oblivious HTTP's
/// response encapsulation (RFC 9458, section 4.4): only the client that sealed the request and the worker that opened it
/// can derive it, so the answer needs no second key agreement.
/// </summary>
/// <remarks>
/// <c>secret = Export("cloister reply", 32)</c> of the request's context. Each reply draws a random 32-byte
/// <c>reply_nonce</c>; <c>prk = HKDF-Extract(salt = enc ‖ reply_nonce, secret)</c>,
/// <c>key = HKDF-Expand(prk, "key", 32)</c>, <c>nonce = HKDF-Expand(prk, "nonce", 12)</c> (HKDF-SHA256), and the reply is
/// <c>0x02 ‖ reply_nonce ‖ AES-256-GCM(key, nonce, aad, plaintext) ‖ tag</c>. The request's purpose is in its HPKE info,
/// so the secret is bound to it too. Requests sealed in a <see cref="SealedSession"/> have their own reply secret.
/// Dispose zeroes the secret.
/// </remarks>
public sealed class SealedReplyKey : IDisposable
{
    /// <summary>The reply format's version byte (a request box starts with <see cref="SealedBox.Version"/>).</summary>
    public const byte Version = 0x02;

    /// <summary>Bytes a reply adds to its plaintext: the version, the reply nonce and the tag.</summary>
    public const int Overhead = 1 + ReplyNonceSize + HpkeContext.TagSize;

    private const int ReplyNonceSize = 32;
    private const int KeySize = 32;

    private readonly byte[] _secret;
    private readonly byte[] _enc;
    private bool _disposed;

    private SealedReplyKey(byte[] secret, byte[] enc)
    {
        _secret = secret;
        _enc = enc;
    }

    /// <summary>Seals the reply (a fresh reply nonce each time).</summary>
    public byte[] Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] box = new byte[Overhead + plaintext.Length];
        box[0] = Version;
        Span<byte> replyNonce = box.AsSpan(1, ReplyNonceSize);
        RandomNumberGenerator.Fill(replyNonce);
        using AesGcm aead = Derive(replyNonce, out byte[] nonce);
        ObjectDisposedException.ThrowIf(_disposed, this); // a Dispose racing the derivation would have left an all-zero secret
        aead.Encrypt(nonce, plaintext, box.AsSpan(1 + ReplyNonceSize, plaintext.Length), box.AsSpan(box.Length - HpkeContext.TagSize), aad);
        return box;
    }

    /// <summary>Opens a reply; throws <see cref="CryptographicException"/> when it is malformed or does not authenticate.</summary>
    public byte[] Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> box)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (box.Length < Overhead)
        {
            throw new CryptographicException("Sealed reply is too short.");
        }

        if (box[0] != Version)
        {
            throw new CryptographicException("Sealed reply has an unknown version.");
        }

        using AesGcm aead = Derive(box.Slice(1, ReplyNonceSize), out byte[] nonce);
        byte[] plaintext = new byte[box.Length - Overhead];
        aead.Decrypt(nonce, box[(1 + ReplyNonceSize)..^HpkeContext.TagSize], box[^HpkeContext.TagSize..], plaintext, aad);
        return plaintext;
    }

    /// <summary>Zeroes the secret.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_secret);
    }

    /// <summary>The reply key of a request context whose encapsulated key is <paramref name="enc"/>.</summary>
    internal static SealedReplyKey FromContext(HpkeContext context, byte[] enc) => new(context.Export("cloister reply"u8, KeySize), enc);

    /// <summary>A reply key from a secret derived elsewhere (<see cref="SealedSession"/>), with <paramref name="salt"/> in the place of enc.</summary>
    internal static SealedReplyKey FromSecret(byte[] secret, byte[] salt) => new(secret, salt);

    private AesGcm Derive(ReadOnlySpan<byte> replyNonce, out byte[] nonce)
    {
        byte[] salt = [.. _enc, .. replyNonce];
        byte[] prk = HKDF.Extract(HashAlgorithmName.SHA256, _secret, salt);
        byte[] key = HKDF.Expand(HashAlgorithmName.SHA256, prk, KeySize, "key"u8.ToArray());
        try
        {
            nonce = HKDF.Expand(HashAlgorithmName.SHA256, prk, HpkeContext.NonceSize, "nonce"u8.ToArray());
            return new AesGcm(key, HpkeContext.TagSize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(prk);
            CryptographicOperations.ZeroMemory(key);
        }
    }
}
