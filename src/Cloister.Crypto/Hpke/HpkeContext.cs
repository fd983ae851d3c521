using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Cloister.Crypto.Hpke;

/// <summary>The secrets of RFC 9180 KeySchedule: key, base_nonce and exporter_secret. Dispose zeroes them.</summary>
internal sealed class HpkeSecrets(byte[] key, byte[] baseNonce, byte[] exporterSecret) : IDisposable
{
    public byte[] Key { get; } = key;

    public byte[] BaseNonce { get; } = baseNonce;

    public byte[] ExporterSecret { get; } = exporterSecret;

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(Key);
        CryptographicOperations.ZeroMemory(BaseNonce);
        CryptographicOperations.ZeroMemory(ExporterSecret);
    }
}

/// <summary>
/// RFC 9180 section 5.2 encryption context shared by the sender and the recipient: the AEAD, base_nonce,
/// exporter_secret and the sequence number. Not thread safe: messages are sealed and opened in order.
/// </summary>
internal sealed class HpkeContext : IDisposable
{
    /// <summary>Nn.</summary>
    public const int NonceSize = 12;

    /// <summary>Nt.</summary>
    public const int TagSize = 16;

    private readonly AesGcm _aead;
    private readonly byte[] _baseNonce;
    private readonly byte[] _exporterSecret;
    private readonly byte[] _suiteId;
    private bool _disposed;

    /// <summary>Takes ownership of <paramref name="secrets"/>: the key moves into the AEAD and the copy is zeroed.</summary>
    public HpkeContext(HpkeSecrets secrets, byte[] suiteId)
    {
        _aead = new AesGcm(secrets.Key, TagSize);
        CryptographicOperations.ZeroMemory(secrets.Key);
        _baseNonce = secrets.BaseNonce;
        _exporterSecret = secrets.ExporterSecret;
        _suiteId = suiteId;
    }

    /// <summary>The sequence number of the next message (settable for the limit test).</summary>
    public ulong Sequence { get; set; }

    public byte[] Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Span<byte> nonce = stackalloc byte[NonceSize];
        ComputeNonce(nonce);
        byte[] ciphertext = new byte[plaintext.Length + TagSize];
        _aead.Encrypt(nonce, plaintext, ciphertext.AsSpan(0, plaintext.Length), ciphertext.AsSpan(plaintext.Length), aad);
        Sequence++;
        return ciphertext;
    }

    public byte[] Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (ciphertext.Length < TagSize)
        {
            throw new CryptographicException("HPKE ciphertext is shorter than the tag.");
        }

        Span<byte> nonce = stackalloc byte[NonceSize];
        ComputeNonce(nonce);
        int length = ciphertext.Length - TagSize;
        byte[] plaintext = new byte[length];
        // AesGcm.Decrypt clears the destination when the tag does not match; the sequence only advances on success.
        _aead.Decrypt(nonce, ciphertext[..length], ciphertext[length..], plaintext, aad);
        Sequence++;
        return plaintext;
    }

    /// <summary>Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", exporter_context, L).</summary>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return LabeledHkdf.Expand(_suiteId, _exporterSecret, "sec"u8, exporterContext, length);
    }

    public void Dispose()
    {
        _disposed = true;
        _aead.Dispose();
        CryptographicOperations.ZeroMemory(_baseNonce);
        CryptographicOperations.ZeroMemory(_exporterSecret);
    }

    /// <summary>ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn); refuses the last sequence number (the message limit).</summary>
    private void ComputeNonce(Span<byte> nonce)
    {
        // RFC 9180 allows up to 2^96 - 1 messages; our counter is 64 bits, so the limit is where it would wrap.
        if (Sequence == ulong.MaxValue)
        {
            throw new CryptographicException("HPKE message limit reached.");
        }

        nonce.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(nonce[(NonceSize - sizeof(ulong))..], Sequence);
        for (int i = 0; i < NonceSize; i++)
        {
            nonce[i] ^= _baseNonce[i];
        }
    }
}
