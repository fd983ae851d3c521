using System.Security.Cryptography;

namespace Cloister.Crypto.Hpke;

/// <summary>A DHKEM(P-256) key pair. Dispose zeroes the private key.</summary>
/// <remarks>
/// The private scalar lives only inside the platform's <see cref="ECDiffieHellman"/> (OpenSSL clears it when the
/// key is freed); no managed copy is kept. Instances may be used from several threads; Dispose must not race
/// with other calls.
/// </remarks>
public sealed class HpkeKeyPair : IDisposable
{
    private readonly ECDiffieHellman _key;
    private readonly byte[] _publicKey;
    private bool _disposed;

    private HpkeKeyPair(ECDiffieHellman key)
    {
        _key = key;
        ECParameters parameters = key.ExportParameters(includePrivateParameters: false);
        _publicKey = [0x04, .. parameters.Q.X!, .. parameters.Q.Y!];
    }

    /// <summary>The public key, SEC1 uncompressed (65 bytes).</summary>
    public byte[] PublicKey => (byte[])_publicKey.Clone();

    /// <summary>A fresh random key pair.</summary>
    public static HpkeKeyPair Generate()
    {
        return new HpkeKeyPair(ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256));
    }

    /// <summary>RFC 9180 DeriveKeyPair(ikm) (deterministic; for test vectors).</summary>
    public static HpkeKeyPair Derive(ReadOnlySpan<byte> ikm)
    {
        byte[] scalar = DhKemP256.DerivePrivateKey(ikm);
        try
        {
            return FromPrivateKey(scalar);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    /// <summary>A key pair from a 32-byte private scalar.</summary>
    /// <exception cref="CryptographicException">The value is not 32 bytes or not in [1, order).</exception>
    public static HpkeKeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (!DhKemP256.IsValidScalar(privateKey))
        {
            throw new CryptographicException("HPKE private key is not a valid P-256 scalar.");
        }

        byte[] d = privateKey.ToArray();
        try
        {
            // With only D, the platform computes the public point.
            ECDiffieHellman key = ECDiffieHellman.Create();
            try
            {
                key.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d });
                return new HpkeKeyPair(key);
            }
            catch
            {
                key.Dispose();
                throw;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }

    /// <summary>Zeroes the private key.</summary>
    public void Dispose()
    {
        _disposed = true;
        _key.Dispose();
    }

    /// <summary>SerializePrivateKey: the 32-byte scalar (for tests and key persistence; the caller zeroes it).</summary>
    internal byte[] ExportPrivateKey()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ECParameters parameters = _key.ExportParameters(includePrivateParameters: true);
        return parameters.D!;
    }

    /// <summary>DH(sk, pk): the x coordinate of sk·pk after validating <paramref name="peerPublicKey"/>; the caller zeroes it.</summary>
    internal byte[] DeriveSharedSecret(ReadOnlySpan<byte> peerPublicKey)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using ECDiffieHellman peer = ECDiffieHellman.Create(DhKemP256.ImportPublicKey(peerPublicKey));
        using ECDiffieHellmanPublicKey peerKey = peer.PublicKey;
        return _key.DeriveRawSecretAgreement(peerKey);
    }
}
