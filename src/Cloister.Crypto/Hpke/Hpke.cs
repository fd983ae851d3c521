using System.Security.Cryptography;

namespace Cloister.Crypto.Hpke;

// RFC 9180 HPKE, base mode only. Suite: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM or AES-256-GCM.
// Public keys are SEC1 uncompressed points (65 bytes), private keys 32-byte big-endian scalars; enc is the
// sender's 65-byte ephemeral public key.

/// <summary>The AEADs we support (RFC 9180 ids).</summary>
public enum HpkeAead
{
    /// <summary>AES-128-GCM (aead_id 0x0001).</summary>
    Aes128Gcm = 1,

    /// <summary>AES-256-GCM (aead_id 0x0002).</summary>
    Aes256Gcm = 2,
}

/// <summary>RFC 9180 base mode with DHKEM(P-256, HKDF-SHA256) and HKDF-SHA256.</summary>
public static class Hpke
{
    private const ushort KdfId = 0x0001;
    private const byte ModeBase = 0x00;

    /// <summary>SetupBaseS(pkR, info): a sender context and the encapsulated key <paramref name="enc"/>.</summary>
    /// <exception cref="CryptographicException">The recipient key is not a valid P-256 point.</exception>
    public static HpkeSenderContext SetupBaseSender(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, HpkeAead aead, out byte[] enc)
    {
        using HpkeKeyPair ephemeral = HpkeKeyPair.Generate();
        return SetupBaseSender(recipientPublicKey, info, aead, ephemeral, out enc);
    }

    /// <summary>SetupBaseS with a given ephemeral key pair (deterministic; for test vectors).</summary>
    /// <exception cref="CryptographicException">The recipient key is not a valid P-256 point.</exception>
    public static HpkeSenderContext SetupBaseSender(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, HpkeAead aead, HpkeKeyPair ephemeral, out byte[] enc)
    {
        ArgumentNullException.ThrowIfNull(ephemeral);
        byte[] suiteId = SuiteId(aead);
        byte[] sharedSecret = DhKemP256.Encap(recipientPublicKey, ephemeral, out enc);
        return new HpkeSenderContext(new HpkeContext(KeyScheduleAndZero(sharedSecret, info, aead), suiteId));
    }

    /// <summary>SetupBaseR(enc, skR, info). Throws <see cref="CryptographicException"/> for an invalid enc.</summary>
    public static HpkeRecipientContext SetupBaseRecipient(ReadOnlySpan<byte> enc, HpkeKeyPair recipient, ReadOnlySpan<byte> info, HpkeAead aead)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        byte[] suiteId = SuiteId(aead);
        byte[] sharedSecret = DhKemP256.Decap(enc, recipient);
        return new HpkeRecipientContext(new HpkeContext(KeyScheduleAndZero(sharedSecret, info, aead), suiteId));
    }

    /// <summary>RFC 9180 KeySchedule for mode_base (psk and psk_id empty).</summary>
    internal static HpkeSecrets KeySchedule(ReadOnlySpan<byte> sharedSecret, ReadOnlySpan<byte> info, HpkeAead aead)
    {
        byte[] suiteId = SuiteId(aead);
        byte[] pskIdHash = LabeledHkdf.Extract(suiteId, [], "psk_id_hash"u8, []);
        byte[] infoHash = LabeledHkdf.Extract(suiteId, [], "info_hash"u8, info);
        byte[] context = [ModeBase, .. pskIdHash, .. infoHash];
        byte[] secret = LabeledHkdf.Extract(suiteId, sharedSecret, "secret"u8, []);
        try
        {
            return new HpkeSecrets(
                LabeledHkdf.Expand(suiteId, secret, "key"u8, context, KeySize(aead)),
                LabeledHkdf.Expand(suiteId, secret, "base_nonce"u8, context, HpkeContext.NonceSize),
                LabeledHkdf.Expand(suiteId, secret, "exp"u8, context, LabeledHkdf.HashSize));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>suite_id = "HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2).</summary>
    private static byte[] SuiteId(HpkeAead aead)
    {
        _ = KeySize(aead);
        ushort aeadId = (ushort)aead;
        return
        [
            (byte)'H', (byte)'P', (byte)'K', (byte)'E',
            DhKemP256.KemId >> 8, DhKemP256.KemId & 0xff,
            KdfId >> 8, KdfId & 0xff,
            (byte)(aeadId >> 8), (byte)aeadId,
        ];
    }

    /// <summary>Nk.</summary>
    private static int KeySize(HpkeAead aead)
    {
        return aead switch
        {
            HpkeAead.Aes128Gcm => 16,
            HpkeAead.Aes256Gcm => 32,
            _ => throw new ArgumentOutOfRangeException(nameof(aead), "Unsupported HPKE AEAD."),
        };
    }

    private static HpkeSecrets KeyScheduleAndZero(byte[] sharedSecret, ReadOnlySpan<byte> info, HpkeAead aead)
    {
        try
        {
            return KeySchedule(sharedSecret, info, aead);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }
}

/// <summary>A sender context (RFC 9180 5.2): seals messages in sequence and exports secrets.</summary>
/// <remarks>Not thread safe: each message takes the next sequence number.</remarks>
public sealed class HpkeSenderContext : IDisposable
{
    private readonly HpkeContext _context;

    internal HpkeSenderContext(HpkeContext context)
    {
        _context = context;
    }

    internal HpkeContext Context => _context;

    /// <summary>Seal the next message.</summary>
    /// <exception cref="CryptographicException">The message limit is reached.</exception>
    public byte[] Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext) => _context.Seal(aad, plaintext);

    /// <summary>RFC 9180 Export(exporter_context, L).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is not in [1, 8160].</exception>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length) => _context.Export(exporterContext, length);

    /// <summary>Zeroes the key material.</summary>
    public void Dispose() => _context.Dispose();
}

/// <summary>A recipient context (RFC 9180 5.2): opens messages in sequence and exports secrets.</summary>
/// <remarks>Not thread safe: each message takes the next sequence number; a failed Open does not advance it.</remarks>
public sealed class HpkeRecipientContext : IDisposable
{
    private readonly HpkeContext _context;

    internal HpkeRecipientContext(HpkeContext context)
    {
        _context = context;
    }

    internal HpkeContext Context => _context;

    /// <summary>Open the next message; throws <see cref="CryptographicException"/> if it does not authenticate.</summary>
    public byte[] Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext) => _context.Open(aad, ciphertext);

    /// <summary>RFC 9180 Export(exporter_context, L).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is not in [1, 8160].</exception>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length) => _context.Export(exporterContext, length);

    /// <summary>Zeroes the key material.</summary>
    public void Dispose() => _context.Dispose();
}
