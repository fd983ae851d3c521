namespace Cloister.Crypto.Hpke;

// CONTRACT STUB (issue 5): the public API of our RFC 9180 HPKE. The crypto helper replaces the bodies;
// other code compiles against these signatures now. Suite: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256,
// AES-128-GCM or AES-256-GCM, base mode only. Public keys are SEC1 uncompressed points (65 bytes),
// private keys 32-byte big-endian scalars; enc is the sender's 65-byte ephemeral public key.

/// <summary>The AEADs we support (RFC 9180 ids).</summary>
public enum HpkeAead
{
    /// <summary>AES-128-GCM (aead_id 0x0001).</summary>
    Aes128Gcm = 1,

    /// <summary>AES-256-GCM (aead_id 0x0002).</summary>
    Aes256Gcm = 2,
}

/// <summary>A DHKEM(P-256) key pair. Dispose zeroes the private key.</summary>
public sealed class HpkeKeyPair : IDisposable
{
    private HpkeKeyPair()
    {
    }

    /// <summary>The public key, SEC1 uncompressed (65 bytes).</summary>
    public byte[] PublicKey => throw new NotImplementedException();

    /// <summary>A fresh random key pair.</summary>
    public static HpkeKeyPair Generate() => throw new NotImplementedException();

    /// <summary>RFC 9180 DeriveKeyPair(ikm) (deterministic; for test vectors).</summary>
    public static HpkeKeyPair Derive(ReadOnlySpan<byte> ikm) => throw new NotImplementedException();

    /// <summary>A key pair from a 32-byte private scalar.</summary>
    public static HpkeKeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey) => throw new NotImplementedException();

    /// <summary>Zeroes the private key.</summary>
    public void Dispose() => throw new NotImplementedException();
}

/// <summary>A sender context (RFC 9180 5.2): seals messages in sequence and exports secrets.</summary>
public sealed class HpkeSenderContext : IDisposable
{
    private HpkeSenderContext()
    {
    }

    /// <summary>Seal the next message.</summary>
    public byte[] Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext) => throw new NotImplementedException();

    /// <summary>RFC 9180 Export(exporter_context, L).</summary>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length) => throw new NotImplementedException();

    /// <summary>Zeroes the key material.</summary>
    public void Dispose() => throw new NotImplementedException();
}

/// <summary>A recipient context (RFC 9180 5.2): opens messages in sequence and exports secrets.</summary>
public sealed class HpkeRecipientContext : IDisposable
{
    private HpkeRecipientContext()
    {
    }

    /// <summary>Open the next message; throws <see cref="System.Security.Cryptography.CryptographicException"/> if it does not authenticate.</summary>
    public byte[] Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext) => throw new NotImplementedException();

    /// <summary>RFC 9180 Export(exporter_context, L).</summary>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length) => throw new NotImplementedException();

    /// <summary>Zeroes the key material.</summary>
    public void Dispose() => throw new NotImplementedException();
}

/// <summary>RFC 9180 base mode with DHKEM(P-256, HKDF-SHA256) and HKDF-SHA256.</summary>
public static class Hpke
{
    /// <summary>SetupBaseS(pkR, info): a sender context and the encapsulated key <paramref name="enc"/>.</summary>
    public static HpkeSenderContext SetupBaseSender(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, HpkeAead aead, out byte[] enc)
        => throw new NotImplementedException();

    /// <summary>SetupBaseS with a given ephemeral key pair (deterministic; for test vectors).</summary>
    public static HpkeSenderContext SetupBaseSender(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, HpkeAead aead, HpkeKeyPair ephemeral, out byte[] enc)
        => throw new NotImplementedException();

    /// <summary>SetupBaseR(enc, skR, info). Throws <see cref="System.Security.Cryptography.CryptographicException"/> for an invalid enc.</summary>
    public static HpkeRecipientContext SetupBaseRecipient(ReadOnlySpan<byte> enc, HpkeKeyPair recipient, ReadOnlySpan<byte> info, HpkeAead aead)
        => throw new NotImplementedException();
}

/// <summary>
/// Single-shot sealing with our wire format: <c>0x01 ‖ aead id (1 byte) ‖ enc (65 bytes) ‖ ciphertext</c>,
/// HPKE info = <c>"cloister/" + purpose + "/v1"</c>. Used for everything sealed to a worker or a client.
/// </summary>
public static class SealedBox
{
    /// <summary>Seal <paramref name="plaintext"/> to <paramref name="recipientPublicKey"/> (AES-256-GCM unless told otherwise).</summary>
    public static byte[] Seal(ReadOnlySpan<byte> recipientPublicKey, string purpose, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, HpkeAead aead = HpkeAead.Aes256Gcm)
        => throw new NotImplementedException();

    /// <summary>Open a box; throws <see cref="System.Security.Cryptography.CryptographicException"/> when it is malformed or does not authenticate.</summary>
    public static byte[] Open(HpkeKeyPair recipient, string purpose, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> box)
        => throw new NotImplementedException();
}
