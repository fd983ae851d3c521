using System.Numerics;
using System.Security.Cryptography;

namespace Cloister.Crypto.Hpke;

/// <summary>RFC 9180 section 4.1: DHKEM(P-256, HKDF-SHA256), kem_id 0x0010.</summary>
internal static class DhKemP256
{
    /// <summary>The kem_id.</summary>
    public const ushort KemId = 0x0010;

    /// <summary>Npk and Nenc: a SEC1 uncompressed point.</summary>
    public const int PublicKeySize = 65;

    /// <summary>Nsk: a big-endian scalar.</summary>
    public const int PrivateKeySize = 32;

    /// <summary>Nsecret.</summary>
    public const int SharedSecretSize = 32;

    // SEC 2, section 2.4.2 (secp256r1).
    private static readonly BigInteger P = Parse("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    private static readonly BigInteger B = Parse("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b");
    private static readonly BigInteger Order = Parse("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

    /// <summary>suite_id = "KEM" ‖ I2OSP(kem_id, 2).</summary>
    private static ReadOnlySpan<byte> SuiteId => [(byte)'K', (byte)'E', (byte)'M', 0x00, 0x10];

    /// <summary>RFC 9180 section 7.1.3 DeriveKeyPair(ikm) for P-256: the private scalar (caller zeroes it).</summary>
    public static byte[] DerivePrivateKey(ReadOnlySpan<byte> ikm)
    {
        byte[] dkpPrk = LabeledHkdf.Extract(SuiteId, [], "dkp_prk"u8, ikm);
        try
        {
            for (int counter = 0; counter <= 255; counter++)
            {
                byte[] candidate = LabeledHkdf.Expand(SuiteId, dkpPrk, "candidate"u8, [(byte)counter], PrivateKeySize);
                // bitmask is 0xff for P-256, so the first byte is kept as is.
                candidate[0] &= 0xff;
                if (IsValidScalar(candidate))
                {
                    return candidate;
                }

                CryptographicOperations.ZeroMemory(candidate);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dkpPrk);
        }

        // Probability about 2^-8192 (each candidate fails with probability below 2^-32).
        throw new CryptographicException("HPKE DeriveKeyPair found no valid scalar.");
    }

    /// <summary>Whether a 32-byte big-endian value is a private key: 0 &lt; sk &lt; order.</summary>
    public static bool IsValidScalar(ReadOnlySpan<byte> scalar)
    {
        if (scalar.Length != PrivateKeySize)
        {
            return false;
        }

        BigInteger value = new(scalar, isUnsigned: true, isBigEndian: true);
        return !value.IsZero && value < Order;
    }

    /// <summary>Encap(pkR) with the given ephemeral key: the shared secret; <paramref name="enc"/> is the ephemeral public key.</summary>
    public static byte[] Encap(ReadOnlySpan<byte> recipientPublicKey, HpkeKeyPair ephemeral, out byte[] enc)
    {
        enc = ephemeral.PublicKey;
        byte[] dh = ephemeral.DeriveSharedSecret(recipientPublicKey);
        return ExtractAndExpand(dh, enc, recipientPublicKey);
    }

    /// <summary>Decap(enc, skR): the shared secret; throws <see cref="CryptographicException"/> when enc is not a valid point.</summary>
    public static byte[] Decap(ReadOnlySpan<byte> enc, HpkeKeyPair recipient)
    {
        byte[] dh = recipient.DeriveSharedSecret(enc);
        return ExtractAndExpand(dh, enc, recipient.PublicKey);
    }

    /// <summary>
    /// DeserializePublicKey with full validation: a 65-byte uncompressed point whose coordinates are field
    /// elements satisfying y² = x³ − 3x + b (the cofactor is 1, so that is the whole subgroup check).
    /// </summary>
    public static ECParameters ImportPublicKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != PublicKeySize || publicKey[0] != 0x04)
        {
            throw new CryptographicException("HPKE public key is not a 65-byte uncompressed P-256 point.");
        }

        ReadOnlySpan<byte> xBytes = publicKey.Slice(1, 32);
        ReadOnlySpan<byte> yBytes = publicKey.Slice(33, 32);
        BigInteger x = new(xBytes, isUnsigned: true, isBigEndian: true);
        BigInteger y = new(yBytes, isUnsigned: true, isBigEndian: true);
        if (x >= P || y >= P || (y * y - (x * x * x - 3 * x + B)) % P != BigInteger.Zero)
        {
            throw new CryptographicException("HPKE public key is not a point on P-256.");
        }

        return new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = xBytes.ToArray(), Y = yBytes.ToArray() },
        };
    }

    /// <summary>ExtractAndExpand(dh, kem_context) with kem_context = enc ‖ pkRm; zeroes <paramref name="dh"/>.</summary>
    private static byte[] ExtractAndExpand(byte[] dh, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> recipientPublicKey)
    {
        byte[] eaePrk = LabeledHkdf.Extract(SuiteId, [], "eae_prk"u8, dh);
        try
        {
            byte[] kemContext = [.. enc, .. recipientPublicKey];
            return LabeledHkdf.Expand(SuiteId, eaePrk, "shared_secret"u8, kemContext, SharedSecretSize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
            CryptographicOperations.ZeroMemory(eaePrk);
        }
    }

    private static BigInteger Parse(string hex)
    {
        return new BigInteger(Convert.FromHexString(hex), isUnsigned: true, isBigEndian: true);
    }
}
