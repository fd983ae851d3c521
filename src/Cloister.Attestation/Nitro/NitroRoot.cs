using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Nitro;

/// <summary>
/// The pinned AWS Nitro Enclaves root (AWS_NitroEnclaves_Root-G1, CN=aws.nitro-enclaves, valid 2019-10-28..2049-10-28),
/// from https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip (the same PEM as evervault's nitro.pem).
/// </summary>
internal static class NitroRoot
{
    /// <summary>SHA-256 of the root's DER, as AWS documents it.</summary>
    public const string Sha256Hex = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

    private const string DerBase64 =
        "MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTELMAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYDVQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQLDANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEGBSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZEh8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkFR+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYCMQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPWrfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6NIwLz3/Y=";

    private static readonly byte[] RootDer = Convert.FromBase64String(DerBase64);
    private static readonly byte[] RootSha256 = Convert.FromHexString(Sha256Hex);

    /// <summary>The root's DER bytes (a copy).</summary>
    public static byte[] Der => (byte[])RootDer.Clone();

    /// <summary>Whether <paramref name="der"/> is the pinned root (SHA-256 of the DER).</summary>
    public static bool IsPinnedRoot(ReadOnlySpan<byte> der)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(der, hash);
        return hash.SequenceEqual(RootSha256);
    }

    /// <summary>A new certificate object of the root; the caller disposes it.</summary>
    public static X509Certificate2 Load() => X509CertificateLoader.LoadCertificate(RootDer);
}
