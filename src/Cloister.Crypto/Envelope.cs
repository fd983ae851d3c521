using System.Security.Cryptography;

namespace Cloister.Crypto;

/// <summary>
/// AES-256-GCM sealing of values into a self-describing blob:
/// <c>version (1 byte, = 1) || nonce (12 random bytes) || ciphertext || tag (16 bytes)</c>.
/// </summary>
/// <remarks>
/// The associated data is authenticated but not stored; the opener must supply the same bytes.
/// Nonces are random, so one key should seal at most 2^32 values (NIST SP 800-38D §8.3).
/// These static methods set up AES-GCM for every call; <see cref="EnvelopeKey"/> reuses it for one key.
/// </remarks>
public static class Envelope
{
    /// <summary>The format version written in the first byte.</summary>
    public const byte Version = 1;

    /// <summary>AES-256 key length in bytes.</summary>
    public const int KeySize = 32;

    /// <summary>Bytes a blob adds to the plaintext: version, nonce and tag.</summary>
    public const int Overhead = HeaderSize + TagSize;

    internal const int NonceSize = 12;
    internal const int TagSize = 16;
    private const int HeaderSize = 1 + NonceSize;

    /// <summary>The blob length for a plaintext of <paramref name="plaintextLength"/> bytes.</summary>
    public static int GetSealedLength(int plaintextLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(plaintextLength);
        return checked(plaintextLength + Overhead);
    }

    /// <summary>Encrypts and authenticates <paramref name="plaintext"/> under a fresh random nonce.</summary>
    /// <exception cref="ArgumentException">The key is not 32 bytes.</exception>
    public static byte[] Seal(ReadOnlySpan<byte> key32, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        byte[] blob = new byte[GetSealedLength(plaintext.Length)];
        Seal(key32, plaintext, associatedData, blob);
        return blob;
    }

    /// <summary>Seals into <paramref name="destination"/> and returns the number of bytes written.</summary>
    /// <exception cref="ArgumentException">The key is not 32 bytes or the destination is shorter than <see cref="GetSealedLength"/>.</exception>
    public static int Seal(ReadOnlySpan<byte> key32, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        ValidateKey(key32);
        using var gcm = new AesGcm(key32, TagSize);
        return SealCore(gcm, plaintext, associatedData, destination);
    }

    /// <summary>
    /// Verifies and decrypts a blob. Returns false, without throwing, for a wrong key, wrong associated data,
    /// an unknown version, a truncated blob or any modification.
    /// </summary>
    /// <exception cref="ArgumentException">The key is not 32 bytes.</exception>
    public static bool TryOpen(ReadOnlySpan<byte> key32, ReadOnlySpan<byte> blob, ReadOnlySpan<byte> associatedData, out byte[]? plaintext)
    {
        ValidateKey(key32);
        plaintext = null;
        if (!HasValidHeader(blob))
        {
            return false;
        }

        byte[] buffer = new byte[blob.Length - Overhead];
        using var gcm = new AesGcm(key32, TagSize);
        if (!TryOpenCore(gcm, blob, associatedData, buffer))
        {
            return false;
        }

        plaintext = buffer;
        return true;
    }

    /// <summary>Span form of <see cref="TryOpen(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, out byte[])"/>; on failure no plaintext is left in the destination.</summary>
    /// <exception cref="ArgumentException">The key is not 32 bytes or the destination is shorter than the plaintext.</exception>
    public static bool TryOpen(ReadOnlySpan<byte> key32, ReadOnlySpan<byte> blob, ReadOnlySpan<byte> associatedData, Span<byte> destination, out int bytesWritten)
    {
        ValidateKey(key32);
        bytesWritten = 0;
        if (!HasValidHeader(blob))
        {
            return false;
        }

        Span<byte> plaintext = GetPlaintextDestination(blob, destination);
        using var gcm = new AesGcm(key32, TagSize);
        if (!TryOpenCore(gcm, blob, associatedData, plaintext))
        {
            return false;
        }

        bytesWritten = plaintext.Length;
        return true;
    }

    internal static void ValidateKey(ReadOnlySpan<byte> key32)
    {
        if (key32.Length != KeySize)
        {
            throw new ArgumentException($"An envelope key is {KeySize} bytes.", nameof(key32));
        }
    }

    internal static bool HasValidHeader(ReadOnlySpan<byte> blob)
    {
        return blob.Length >= Overhead && blob[0] == Version;
    }

    internal static Span<byte> GetPlaintextDestination(ReadOnlySpan<byte> blob, Span<byte> destination)
    {
        int length = blob.Length - Overhead;
        if (destination.Length < length)
        {
            throw new ArgumentException("The destination is shorter than the sealed plaintext.", nameof(destination));
        }

        return destination[..length];
    }

    internal static int SealCore(AesGcm gcm, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        int length = GetSealedLength(plaintext.Length);
        if (destination.Length < length)
        {
            throw new ArgumentException("The destination is shorter than the sealed length.", nameof(destination));
        }

        destination[0] = Version;
        Span<byte> nonce = destination.Slice(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        gcm.Encrypt(nonce, plaintext, destination.Slice(HeaderSize, plaintext.Length), destination.Slice(HeaderSize + plaintext.Length, TagSize), associatedData);
        return length;
    }

    /// <summary>Requires <see cref="HasValidHeader"/> and a plaintext span of exactly the ciphertext length.</summary>
    internal static bool TryOpenCore(AesGcm gcm, ReadOnlySpan<byte> blob, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
    {
        try
        {
            gcm.Decrypt(blob.Slice(1, NonceSize), blob.Slice(HeaderSize, plaintext.Length), blob[^TagSize..], plaintext, associatedData);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            // AesGcm has already cleared the plaintext; this is the expected outcome for a forged or damaged blob.
            return false;
        }
    }
}
