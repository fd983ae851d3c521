using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Snp;

/// <summary>SHA-256 of a certificate's DER, as a value key.</summary>
internal readonly record struct SnpCertificateKey(ulong A, ulong B, ulong C, ulong D)
{
    public static SnpCertificateKey Of(ReadOnlySpan<byte> der)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(der, hash);
        return new SnpCertificateKey(
            BinaryPrimitives.ReadUInt64LittleEndian(hash),
            BinaryPrimitives.ReadUInt64LittleEndian(hash[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(hash[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(hash[24..]));
    }
}

/// <summary>
/// A VCEK or VLEK whose signature by a built-in ASK/ASVK has been verified, with what the report checks need.
/// Time-independent: validity windows are kept and checked against each verification's time.
/// </summary>
internal sealed class SnpVerifiedLeaf
{
    private const string AmdOidPrefix = "1.3.6.1.4.1.3704.1.";

    /// <summary>Keys kept per certificate: about one per thread verifying concurrently.</summary>
    private const int MaxPooledKeys = 16;

    // Importing a P-384 key costs about as much as a verification (~0.9 ms vs ~0.6 ms here, OpenSSL 3.0), so
    // verified keys are reused. A pool rather than one shared instance: ECDsa is not documented as thread-safe.
    private readonly ConcurrentBag<ECDsa> _keys = [];

    private SnpVerifiedLeaf(SnpAmdAnchor anchor, X509Certificate2 certificate, byte[] subjectPublicKeyInfo)
    {
        Anchor = anchor;
        SubjectPublicKeyInfo = subjectPublicKeyInfo;
        Subject = certificate.Subject;
        NotBefore = SnpCertificates.NotBefore(certificate);
        NotAfter = SnpCertificates.NotAfter(certificate);
    }

    public SnpAmdAnchor Anchor { get; }

    public SnpSigningKey Signer => Anchor.Signer;

    public string Product => Anchor.Product;

    public byte[] SubjectPublicKeyInfo { get; }

    public string Subject { get; }

    public DateTimeOffset NotBefore { get; }

    public DateTimeOffset NotAfter { get; }

    /// <summary>productName extension (.2), e.g. "Milan-B0".</summary>
    public string? ProductName { get; private set; }

    public int? BootLoader { get; private set; }

    public int? Tee { get; private set; }

    public int? Snp { get; private set; }

    public int? Microcode { get; private set; }

    public int? Fmc { get; private set; }

    /// <summary>hwID extension (.4): 64 bytes, 8 on Turin; null for a VLEK.</summary>
    public byte[]? HardwareId { get; private set; }

    /// <summary>csp_id extension (.5) of a VLEK.</summary>
    public string? CspId { get; private set; }

    /// <summary>Why an AMD extension could not be read, or null.</summary>
    public string? ExtensionError { get; private set; }

    /// <summary>Verifies <paramref name="der"/> against the built-in AMD roots. Never throws for bad input.</summary>
    public static SnpVerifiedLeaf? TryVerify(byte[] der, out string? reason)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException)
        {
            reason = "certificate-malformed: a given certificate cannot be parsed";
            return null;
        }

        using (certificate)
        {
            var anchor = SnpAmdRoots.FindByIntermediateSubject(certificate.IssuerName.RawData);
            if (anchor is null)
            {
                reason = $"issuer-unknown: '{certificate.Issuer}' is not a built-in AMD ASK or ASVK";
                return null;
            }

            var intermediateName = anchor.IntermediateName;
            if (anchor.SelfCheckError is not null)
            {
                reason = $"anchor-invalid: {anchor.SelfCheckError}";
                return null;
            }

            using (var issuerKey = anchor.Intermediate.GetRSAPublicKey())
            {
                string? signatureReason = "no RSA key";
                if (issuerKey is null || !SnpCertificates.VerifyRsaPssSignature(der, issuerKey, out signatureReason))
                {
                    reason = $"signature-invalid: the {SignerName(anchor.Signer)} is not signed by the {intermediateName} key ({signatureReason})";
                    return null;
                }
            }

            byte[] spki;
            try
            {
                using var key = certificate.GetECDsaPublicKey();
                if (key is null || key.KeySize != 384)
                {
                    reason = $"key-invalid: the {SignerName(anchor.Signer)} key is not ECDSA P-384";
                    return null;
                }

                spki = key.ExportSubjectPublicKeyInfo();
            }
            catch (CryptographicException)
            {
                reason = $"key-invalid: the {SignerName(anchor.Signer)} key cannot be read";
                return null;
            }

            var leaf = new SnpVerifiedLeaf(anchor, certificate, spki);
            try
            {
                leaf.ReadExtensions(certificate);
            }
            catch (CryptographicException)
            {
                leaf.ExtensionError ??= "the extensions cannot be read";
            }

            reason = null;
            return leaf;
        }
    }

    /// <summary>Verifies an ECDSA P-384/SHA-384 signature (IEEE P1363 r‖s) over <paramref name="data"/> with this certificate's key.</summary>
    public bool VerifySignature(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (!_keys.TryTake(out var key))
        {
            key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(SubjectPublicKeyInfo, out _);
        }

        try
        {
            return key.VerifyData(data, signature, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        finally
        {
            if (_keys.Count < MaxPooledKeys)
            {
                _keys.Add(key);
            }
            else
            {
                key.Dispose();
            }
        }
    }

    public static string SignerName(SnpSigningKey signer) => signer == SnpSigningKey.Vlek ? "VLEK" : "VCEK";

    private void ReadExtensions(X509Certificate2 certificate)
    {
        foreach (var extension in certificate.Extensions)
        {
            var oid = extension.Oid?.Value;
            if (oid is null || !oid.StartsWith(AmdOidPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var raw = extension.RawData;
            switch (oid[AmdOidPrefix.Length..])
            {
                case "2":
                    ProductName = SnpCertificates.TryReadString(raw);
                    if (ProductName is null)
                    {
                        ExtensionError ??= "productName is not a string";
                    }

                    break;
                case "3.1":
                    BootLoader = ReadSpl(raw, "blSPL");
                    break;
                case "3.2":
                    Tee = ReadSpl(raw, "teeSPL");
                    break;
                case "3.3":
                    Snp = ReadSpl(raw, "snpSPL");
                    break;
                case "3.8":
                    Microcode = ReadSpl(raw, "ucodeSPL");
                    break;
                case "3.9":
                    Fmc = ReadSpl(raw, "fmcSPL");
                    break;
                case "4":
                    HardwareId = raw;
                    break;
                case "5":
                    CspId = SnpCertificates.TryReadString(raw);
                    break;
                default:
                    break;
            }
        }
    }

    private int? ReadSpl(byte[] raw, string name)
    {
        if (SnpCertificates.TryReadSmallInteger(raw, out var value))
        {
            return value;
        }

        ExtensionError ??= $"{name} is not a DER INTEGER 0..255";
        return null;
    }
}

/// <summary>
/// Thread-safe, bounded cache of verified VCEK/VLEK certificates keyed by the SHA-256 of their DER, so the same
/// certificate seen again skips chain building. Only successful verifications are cached; they do not depend on time.
/// </summary>
internal sealed class SnpChainCache
{
    private readonly ConcurrentDictionary<SnpCertificateKey, SnpVerifiedLeaf> _entries = new();
    private readonly int _capacity;

    public SnpChainCache(int capacity) => _capacity = Math.Max(0, capacity);

    public int Count => _entries.Count;

    public bool TryGet(SnpCertificateKey key, out SnpVerifiedLeaf? leaf) => _entries.TryGetValue(key, out leaf);

    public void Add(SnpCertificateKey key, SnpVerifiedLeaf leaf)
    {
        if (_capacity == 0)
        {
            return;
        }

        // Bounded without bookkeeping: when full, start over. Verified leaves are cheap to rebuild and a fleet has few.
        if (_entries.Count >= _capacity)
        {
            _entries.Clear();
        }

        _entries[key] = leaf;
    }
}
