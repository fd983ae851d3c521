using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Cloister.Attestation.Tdx;

/// <summary>The Intel SGX Root CA the library trusts, and certificate helpers for the DCAP chains.</summary>
internal static class DcapRoots
{
    /// <summary>SHA-256 of the Intel SGX Root CA DER (attestation-formats.md, go-tdx-guest verify/trusted_root.pem).</summary>
    public const string IntelSgxRootSha256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

    private const string IntelSgxRootPem = """
        -----BEGIN CERTIFICATE-----
        MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw
        aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv
        cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ
        BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG
        A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0
        aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT
        AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7
        1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB
        uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ
        MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50
        ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV
        Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI
        KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg
        AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=
        -----END CERTIFICATE-----
        """;

    private static readonly Lazy<X509Certificate2> LazyRoot = new(LoadRoot);

    public static X509Certificate2 IntelSgxRoot => LazyRoot.Value;

    private static X509Certificate2 LoadRoot()
    {
        var root = X509Certificate2.CreateFromPem(IntelSgxRootPem);
        var digest = Convert.ToHexStringLower(SHA256.HashData(root.RawData));
        if (digest != IntelSgxRootSha256)
        {
            throw new InvalidOperationException("The embedded Intel SGX Root CA does not match its pinned SHA-256.");
        }

        return root;
    }

    /// <summary>Bound of the parsed-PEM cache; a fleet has few distinct PCK and signing chains.</summary>
    internal const int MaxCachedPem = 1024;

    // Parsing a 3-certificate PEM chain costs about 2 ms here (measured, dcapqvl_tdx_quote), 100 times a cached
    // verification, so parsed chains are kept by the SHA-256 of their bytes. The certificates are only read.
    private static readonly ConcurrentDictionary<string, X509Certificate2[]> ParsedPem = new(StringComparer.Ordinal);

    /// <summary>Reads PEM certificates (NUL padding and junk between blocks ignored); false when none or malformed.</summary>
    public static bool TryReadPemCertificates(ReadOnlySpan<byte> data, out List<X509Certificate2> certificates)
    {
        int end = data.Length;
        while (end > 0 && data[end - 1] == 0)
        {
            end--;
        }

        var key = Convert.ToHexStringLower(SHA256.HashData(data[..end]));
        if (ParsedPem.TryGetValue(key, out var cached))
        {
            certificates = [.. cached];
            return true;
        }

        if (!TryParsePem(data[..end], out certificates))
        {
            return false;
        }

        if (ParsedPem.Count >= MaxCachedPem)
        {
            ParsedPem.Clear();
        }

        ParsedPem[key] = [.. certificates];
        return true;
    }

    private static bool TryParsePem(ReadOnlySpan<byte> data, out List<X509Certificate2> certificates)
    {
        certificates = [];
        int end = data.Length;

        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(data[..end]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        const string Begin = "-----BEGIN CERTIFICATE-----";
        const string EndMarker = "-----END CERTIFICATE-----";
        int position = 0;
        while (true)
        {
            int start = text.IndexOf(Begin, position, StringComparison.Ordinal);
            if (start < 0)
            {
                break;
            }

            int stop = text.IndexOf(EndMarker, start, StringComparison.Ordinal);
            if (stop < 0)
            {
                return false;
            }

            stop += EndMarker.Length;
            try
            {
                certificates.Add(X509Certificate2.CreateFromPem(text.AsSpan(start, stop - start)));
            }
            catch (CryptographicException)
            {
                return false;
            }

            position = stop;
        }

        return certificates.Count > 0;
    }
}

/// <summary>The Intel SGX extension (OID 1.2.840.113741.1.13.1) of a PCK certificate.</summary>
internal sealed class DcapPckExtension
{
    public const string Oid = "1.2.840.113741.1.13.1";

    public byte[] CpuSvnComponents { get; } = new byte[16];

    public int PceSvn { get; private set; } = -1;

    public byte[] Fmspc { get; private set; } = [];

    public byte[] PceId { get; private set; } = [];

    public static bool TryRead(X509Certificate2 pck, out DcapPckExtension? extension)
    {
        extension = null;
        var raw = pck.Extensions[Oid]?.RawData;
        if (raw is null)
        {
            return false;
        }

        try
        {
            var result = new DcapPckExtension();
            var outer = new AsnReader(raw, AsnEncodingRules.DER).ReadSequence();
            while (outer.HasData)
            {
                var item = outer.ReadSequence();
                string oid = item.ReadObjectIdentifier();
                switch (oid)
                {
                    case Oid + ".2":
                        var tcb = item.ReadSequence();
                        while (tcb.HasData)
                        {
                            var component = tcb.ReadSequence();
                            string componentOid = component.ReadObjectIdentifier();
                            string suffix = componentOid.StartsWith(Oid + ".2.", StringComparison.Ordinal) ? componentOid[(Oid.Length + 3)..] : "";
                            if (int.TryParse(suffix, out int n) && n >= 1 && n <= 16)
                            {
                                result.CpuSvnComponents[n - 1] = component.TryReadInt32(out int svn) && svn is >= 0 and <= 255 ? (byte)svn : throw new AsnContentException("SVN out of range");
                            }
                            else if (n == 17)
                            {
                                result.PceSvn = component.TryReadInt32(out int pcesvn) && pcesvn is >= 0 and <= 65535 ? pcesvn : throw new AsnContentException("PCESVN out of range");
                            }
                        }

                        break;
                    case Oid + ".3":
                        result.PceId = item.ReadOctetString();
                        break;
                    case Oid + ".4":
                        result.Fmspc = item.ReadOctetString();
                        break;
                    default:
                        break;
                }
            }

            if (result.PceSvn < 0 || result.Fmspc.Length != 6 || result.PceId.Length != 2)
            {
                return false;
            }

            extension = result;
            return true;
        }
        catch (AsnContentException)
        {
            return false;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}

/// <summary>
/// Builds Intel certificate chains (PCK → Platform/Processor CA → Root, TCB Signing → Root) to the pinned Intel SGX
/// Root CA, at a given time, and caches chains already verified. Validity windows are re-checked on every hit,
/// so a cached chain never outlives its certificates.
/// </summary>
internal static class DcapChainVerifier
{
    /// <summary>Bounded so hostile input cannot grow memory without limit; a real fleet has few distinct PCK chains.</summary>
    internal const int MaxCachedChains = 1024;

    private static readonly ConcurrentDictionary<string, (DateTime NotBefore, DateTime NotAfter)> Verified = new(StringComparer.Ordinal);

    /// <summary>Number of chains in the cache (for tests).</summary>
    internal static int CachedCount => Verified.Count;

    /// <summary>
    /// Verifies that <paramref name="certificates"/>[0] chains to the Intel SGX Root CA at <paramref name="at"/>.
    /// The others are candidate intermediates; a copy of the root among them must be the pinned root.
    /// </summary>
    public static bool TryVerify(IReadOnlyList<X509Certificate2> certificates, DateTimeOffset at, out string error)
    {
        if (certificates.Count == 0)
        {
            error = "no certificates";
            return false;
        }

        var root = DcapRoots.IntelSgxRoot;
        var key = CacheKey(certificates);
        var when = at.UtcDateTime;
        if (Verified.TryGetValue(key, out var window))
        {
            if (when < window.NotBefore || when > window.NotAfter)
            {
                error = $"a certificate of the chain is not valid at {at:O} (valid {window.NotBefore:O}..{window.NotAfter:O})";
                return false;
            }

            error = "";
            return true;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = when;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        for (int i = 1; i < certificates.Count; i++)
        {
            chain.ChainPolicy.ExtraStore.Add(certificates[i]);
        }

        bool ok = chain.Build(certificates[0]);
        if (!ok)
        {
            var statuses = chain.ChainStatus.Select(s => s.Status.ToString()).Distinct();
            error = $"chain to the Intel SGX Root CA does not build at {at:O} ({string.Join(", ", statuses)})";
            return false;
        }

        var elements = chain.ChainElements;
        var top = elements[^1].Certificate;
        if (!top.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span))
        {
            error = "chain does not end at the pinned Intel SGX Root CA";
            return false;
        }

        var notBefore = DateTime.MinValue;
        var notAfter = DateTime.MaxValue;
        foreach (var element in elements)
        {
            var c = element.Certificate;
            notBefore = c.NotBefore.ToUniversalTime() > notBefore ? c.NotBefore.ToUniversalTime() : notBefore;
            notAfter = c.NotAfter.ToUniversalTime() < notAfter ? c.NotAfter.ToUniversalTime() : notAfter;
        }

        if (Verified.Count >= MaxCachedChains)
        {
            // Simple bound: start again rather than track recency; re-verifying costs one chain build.
            Verified.Clear();
        }

        Verified[key] = (notBefore, notAfter);
        error = "";
        return true;
    }

    private static string CacheKey(IReadOnlyList<X509Certificate2> certificates)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        foreach (var c in certificates)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, c.RawDataMemory.Length);
            hash.AppendData(length);
            hash.AppendData(c.RawDataMemory.Span);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}

/// <summary>A parsed X.509 CRL (RFC 5280), signature checked against an issuer certificate.</summary>
internal sealed class DcapCrl
{
    private DcapCrl()
    {
    }

    public byte[] IssuerName { get; private init; } = [];

    public DateTimeOffset ThisUpdate { get; private init; }

    public DateTimeOffset? NextUpdate { get; private init; }

    public List<byte[]> RevokedSerials { get; } = [];

    private byte[] Tbs { get; init; } = [];

    private byte[] Signature { get; init; } = [];

    private string SignatureAlgorithm { get; init; } = "";

    public static bool TryParse(ReadOnlySpan<byte> der, out DcapCrl? crl)
    {
        crl = null;
        try
        {
            var outer = new AsnReader(der.ToArray(), AsnEncodingRules.DER);
            var list = outer.ReadSequence();
            if (outer.HasData)
            {
                return false;
            }

            var tbsBytes = list.PeekEncodedValue().ToArray();
            var tbs = list.ReadSequence();
            var algorithm = list.ReadSequence();
            string algorithmOid = algorithm.ReadObjectIdentifier();
            var signature = list.ReadBitString(out int unused);
            if (unused != 0 || list.HasData)
            {
                return false;
            }

            if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                tbs.ReadInteger();
            }

            tbs.ReadSequence(); // signature algorithm inside TBS
            var issuer = tbs.ReadEncodedValue().ToArray();
            var thisUpdate = ReadTime(tbs);
            DateTimeOffset? nextUpdate = null;
            if (tbs.HasData && (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) || tbs.PeekTag().HasSameClassAndValue(Asn1Tag.GeneralizedTime)))
            {
                nextUpdate = ReadTime(tbs);
            }

            var result = new DcapCrl
            {
                IssuerName = issuer,
                ThisUpdate = thisUpdate,
                NextUpdate = nextUpdate,
                Tbs = tbsBytes,
                Signature = signature,
                SignatureAlgorithm = algorithmOid,
            };
            if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                var revoked = tbs.ReadSequence();
                while (revoked.HasData)
                {
                    var entry = revoked.ReadSequence();
                    result.RevokedSerials.Add(TrimSerial(entry.ReadIntegerBytes().Span));
                }
            }

            crl = result;
            return true;
        }
        catch (AsnContentException)
        {
            return false;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    public bool IsSignedBy(X509Certificate2 issuer)
    {
        if (SignatureAlgorithm != "1.2.840.10045.4.3.2" || !issuer.SubjectName.RawData.AsSpan().SequenceEqual(IssuerName))
        {
            return false;
        }

        try
        {
            using var key = issuer.GetECDsaPublicKey();
            return key is not null && key.VerifyData(Tbs, Signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    public bool IsCurrent(DateTimeOffset at) => ThisUpdate <= at && NextUpdate is { } next && at <= next;

    public bool Revokes(X509Certificate2 certificate)
    {
        var serial = TrimSerial(certificate.SerialNumberBytes.Span);
        return RevokedSerials.Any(s => s.AsSpan().SequenceEqual(serial));
    }

    private static byte[] TrimSerial(ReadOnlySpan<byte> serial)
    {
        int i = 0;
        while (i < serial.Length - 1 && serial[i] == 0)
        {
            i++;
        }

        return serial[i..].ToArray();
    }

    private static DateTimeOffset ReadTime(AsnReader reader)
        => reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();
}
