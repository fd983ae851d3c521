using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Cloister.Attestation.Nitro;

/// <summary>
/// Verifies AWS Nitro Enclaves attestation documents: COSE_Sign1 with ES384, the CBOR payload, the chain
/// from the document's cabundle to the pinned AWS Nitro root at the document's timestamp, the chain's validity at the
/// verification time, debug mode (PCR0–2 all zero), PCRs and PCR0 as the measurement, freshness, nonce and user data.
/// </summary>
/// <remarks>
/// Evidence bytes are the raw CBOR document (tagged or untagged) or its base64 text. Nothing is thrown for
/// bad evidence: every outcome is a check in the result. Chains already verified are cached (bounded,
/// thread-safe, keyed by the SHA-256 of the certificates) with their validity window, so a document signed
/// by a known enclave certificate is verified without building the chain again. Instances are thread-safe.
/// <para>
/// Time: a document dated after the verification time (beyond <see cref="AllowedClockSkew"/>) is contraindicated
/// whatever the policy's maximum age ("freshness"), and so is a document verified outside its chain's validity
/// ("cert-validity"). AWS gives every document a leaf certificate that lives about three hours, so under the default
/// policy (no maximum age) a captured document stops being affirming when its leaf expires instead of replaying for
/// ever; a policy's <see cref="AppraisalPolicy.MaxAge"/> or <see cref="AppraisalPolicy.ExpectedNonce"/> bounds it further.
/// </para>
/// </remarks>
public sealed class NitroVerifier : IEvidenceVerifier
{
    /// <summary>Chains cached by default (one per enclave certificate; they live about 3 hours).</summary>
    public const int DefaultChainCacheCapacity = 1024;

    private const string SignatureCheck = "signature";
    private const string ChainCheck = "certificate-chain";
    private const string ValidityCheck = "cert-validity";
    private const string DebugCheck = "debug";
    private const string PcrsCheck = "pcrs";
    private const string MeasurementCheck = "measurement";
    private const string FreshnessCheck = "freshness";
    private const string NonceCheck = "nonce";
    private const string UserDataCheck = "user-data";
    private const string TeeCheck = "tee-type";

    /// <summary>
    /// How far the verifier's clock may lag the enclave's: a document stamped, or a leaf certificate starting, at most this
    /// long after the verification time is clock skew, not an attack. (A document's leaf starts about 3 s before its
    /// timestamp, so a verifier a few seconds behind would otherwise refuse every fresh document.)
    /// </summary>
    public static readonly TimeSpan AllowedClockSkew = TimeSpan.FromMinutes(5);

    private readonly NitroChainCache _cache;

    /// <summary>A verifier with a chain cache of <see cref="DefaultChainCacheCapacity"/> entries.</summary>
    public NitroVerifier()
        : this(DefaultChainCacheCapacity)
    {
    }

    /// <summary>A verifier with a chain cache of <paramref name="chainCacheCapacity"/> entries (0 disables the cache).</summary>
    public NitroVerifier(int chainCacheCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chainCacheCapacity);
        _cache = new NitroChainCache(chainCacheCapacity);
    }

    /// <inheritdoc />
    public TeeType Type => TeeType.Nitro;

    /// <summary>Chains currently cached.</summary>
    public int CachedChains => _cache.Count;

    /// <inheritdoc />
    public AttestationResult Verify(EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentNullException.ThrowIfNull(policy);

        if (evidence.Type != TeeType.Nitro)
        {
            return AttestationResult.Unreadable(TeeType.Nitro, TeeCheck, $"wrong-type: evidence is {evidence.Type}, not Nitro");
        }

        if (!TryGetCbor(evidence.Bytes, out var cbor, out var unreadable))
        {
            return AttestationResult.Unreadable(TeeType.Nitro, NitroDocumentParser.StructureCheck, unreadable!);
        }

        var parsed = NitroDocumentParser.Parse(cbor);
        if (parsed.Document is not { } document)
        {
            var checks = new List<Check>();
            if (parsed.FailedCheck == NitroDocumentParser.AlgorithmCheck)
            {
                checks.Add(Check.Pass(NitroDocumentParser.StructureCheck));
            }

            checks.Add(Check.Fail(parsed.FailedCheck!, parsed.Reason!));
            checks.Add(Check.NotEvaluated(SignatureCheck, "not-evaluated: the document could not be read", Verdict.Contraindicated));
            return AttestationResult.From(new AttestationClaims { Tee = TeeType.Nitro }, checks);
        }

        var result = new List<Check>(12)
        {
            Check.Pass(NitroDocumentParser.StructureCheck),
            Check.Pass(NitroDocumentParser.AlgorithmCheck, "ES384"),
        };
        if (!policy.AllowedTees.Contains(TeeType.Nitro))
        {
            result.Add(Check.Fail(TeeCheck, "tee-not-allowed: the policy does not accept Nitro evidence"));
        }

        var chain = VerifyChain(document, out var leafKey, out var verified);
        result.Add(VerifySignature(document, leafKey));
        result.Add(chain);
        result.Add(CheckValidity(verified, at));

        var debug = IsDebug(document);
        result.Add(CheckDebug(debug, policy));
        result.Add(CheckPcrs(document, policy));
        result.Add(CheckMeasurement(document, policy));
        result.Add(CheckFreshness(document, policy, at));
        result.Add(CheckBytes(NonceCheck, "nonce", document.Nonce, policy.ExpectedNonce));
        result.Add(CheckBytes(UserDataCheck, "user-data", document.UserData, policy.ExpectedReportData));

        return AttestationResult.From(Claims(document, debug), result);
    }

    /// <summary>Raw CBOR (first byte 0x84 or tag 18) or base64 text of it; bounded before decoding.</summary>
    private static bool TryGetCbor(byte[]? bytes, out ReadOnlyMemory<byte> cbor, out string? reason)
    {
        cbor = default;
        reason = null;
        if (bytes is null || bytes.Length == 0)
        {
            reason = "empty: no document";
            return false;
        }

        if (bytes[0] is 0x84 or 0xD2)
        {
            cbor = bytes;
            return true;
        }

        // Base64 of the largest accepted document, plus room for line breaks.
        const int maxBase64 = (NitroDocument.MaxDocumentBytes + 2) / 3 * 4 * 2;
        if (bytes.Length > maxBase64)
        {
            reason = $"too-large: {bytes.Length} bytes is neither a Nitro document nor its base64 text";
            return false;
        }

        foreach (var b in bytes)
        {
            var isBase64 = b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9')
                or (byte)'+' or (byte)'/' or (byte)'=' or (byte)'\r' or (byte)'\n' or (byte)' ' or (byte)'\t';
            if (!isBase64)
            {
                // Not base64 text: let the CBOR decoder say what is wrong with it.
                cbor = bytes;
                return true;
            }
        }

        var text = Encoding.ASCII.GetString(bytes);
        var decoded = new byte[text.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64String(text, decoded, out var written))
        {
            reason = "base64: the document text is not valid base64";
            return false;
        }

        cbor = decoded.AsMemory(0, written);
        return true;
    }

    /// <summary>
    /// The chain to the pinned root, at the document's timestamp (when the enclave's NSM signed it); <paramref name="verified"/>
    /// carries its validity window for <see cref="CheckValidity"/>.
    /// </summary>
    private Check VerifyChain(NitroDocument document, out NitroLeafKey? leafKey, out NitroVerifiedChain? verified)
    {
        leafKey = null;
        verified = null;
        var key = NitroChainCache.KeyOf(document);
        if (_cache.TryGet(key, out var cached) && cached is not null && cached.IsValidAt(document.Timestamp))
        {
            leafKey = cached.LeafKey;
            verified = cached;
            return Check.Pass(ChainCheck, "cached: chain to the pinned AWS Nitro root already verified");
        }

        if (!NitroRoot.IsPinnedRoot(document.CaBundle[0].Span))
        {
            TryReadLeafKey(document, out leafKey);
            return Check.Fail(ChainCheck, "root-not-pinned: cabundle[0] is not the AWS Nitro root G1");
        }

        var certificates = new List<X509Certificate2>(document.CaBundle.Count + 1);
        try
        {
            X509Certificate2 leaf;
            try
            {
                leaf = X509CertificateLoader.LoadCertificate(document.Certificate.Span);
                certificates.Add(leaf);
                for (var i = 1; i < document.CaBundle.Count; i++)
                {
                    certificates.Add(X509CertificateLoader.LoadCertificate(document.CaBundle[i].Span));
                }
            }
            catch (CryptographicException)
            {
                return Check.Fail(ChainCheck, "certificate-unreadable: a certificate is not valid DER");
            }

            leafKey = ReadKey(leaf);
            using var root = NitroRoot.Load();
            using var x509Chain = new X509Chain();
            x509Chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            x509Chain.ChainPolicy.CustomTrustStore.Add(root);
            x509Chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            x509Chain.ChainPolicy.DisableCertificateDownloads = true;
            x509Chain.ChainPolicy.VerificationTime = document.Timestamp.UtcDateTime;
            x509Chain.ChainPolicy.VerificationTimeIgnored = false;
            for (var i = 1; i < certificates.Count; i++)
            {
                x509Chain.ChainPolicy.ExtraStore.Add(certificates[i]);
            }

            bool built;
            try
            {
                built = x509Chain.Build(leaf);
            }
            catch (CryptographicException)
            {
                return Check.Fail(ChainCheck, "chain-error: the chain could not be built");
            }

            if (!built)
            {
                var statuses = string.Join(", ", x509Chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
                return Check.Fail(ChainCheck, $"chain-invalid: {statuses} at {Iso(document.Timestamp)}");
            }

            // The chain must be exactly certificate → cabundle[n-1] → … → cabundle[1] → pinned root, nothing skipped or added.
            var elements = x509Chain.ChainElements;
            if (elements.Count != document.CaBundle.Count + 1)
            {
                return Check.Fail(ChainCheck, $"chain-order: built {elements.Count} certificates, the cabundle gives {document.CaBundle.Count + 1}");
            }

            var notBefore = DateTimeOffset.MinValue;
            var notAfter = DateTimeOffset.MaxValue;
            for (var i = 0; i < elements.Count; i++)
            {
                var expected = i == 0 ? document.Certificate.Span : document.CaBundle[document.CaBundle.Count - i].Span;
                var element = elements[i].Certificate;
                if (!element.RawDataMemory.Span.SequenceEqual(expected))
                {
                    return Check.Fail(ChainCheck, $"chain-order: certificate {i} of the chain is not the cabundle's, in reverse order");
                }

                // Via UTC: a local-time conversion of an extreme date could fall outside DateTimeOffset's range.
                var from = new DateTimeOffset(element.NotBefore.ToUniversalTime(), TimeSpan.Zero);
                var to = new DateTimeOffset(element.NotAfter.ToUniversalTime(), TimeSpan.Zero);
                notBefore = from > notBefore ? from : notBefore;
                notAfter = to < notAfter ? to : notAfter;
            }

            var window = leafKey is { } k ? new NitroVerifiedChain(notBefore, notAfter, k) : null;
            if (window is null || !window.IsValidAt(document.Timestamp))
            {
                return Check.Fail(ChainCheck, $"not-time-valid: the chain is not valid at {Iso(document.Timestamp)}");
            }

            _cache.Add(key, window);
            verified = window;
            return Check.Pass(ChainCheck, $"verified at {Iso(document.Timestamp)} to the pinned AWS Nitro root");
        }
        finally
        {
            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }

    private static void TryReadLeafKey(NitroDocument document, out NitroLeafKey? leafKey)
    {
        leafKey = null;
        try
        {
            using var leaf = X509CertificateLoader.LoadCertificate(document.Certificate.Span);
            leafKey = ReadKey(leaf);
        }
        catch (CryptographicException)
        {
        }
    }

    /// <summary>The leaf's public key when it is ECDSA P-384, else null.</summary>
    private static NitroLeafKey? ReadKey(X509Certificate2 leaf)
    {
        try
        {
            var key = leaf.GetECDsaPublicKey();
            if (key is null || key.KeySize != 384)
            {
                key?.Dispose();
                return null;
            }

            return new NitroLeafKey(key);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static Check VerifySignature(NitroDocument document, NitroLeafKey? leafKey)
    {
        if (leafKey is null)
        {
            return Check.Fail(SignatureCheck, "leaf-key: the document's certificate has no readable ECDSA P-384 key");
        }

        return leafKey.Verify(document.Message)
            ? Check.Pass(SignatureCheck, "ES384 over the COSE Sig_structure")
            : Check.Fail(SignatureCheck, "signature-invalid: the ES384 signature does not verify with the document's certificate");
    }

    /// <summary>True when PCR0, PCR1 and PCR2 are all zero (debug enclave), null when one is missing.</summary>
    private static bool? IsDebug(NitroDocument document)
    {
        for (var i = 0; i < 3; i++)
        {
            if (document.Pcr(i) is not { } pcr)
            {
                return null;
            }

            if (pcr.Span.ContainsAnyExcept((byte)0))
            {
                return false;
            }
        }

        return true;
    }

    private static Check CheckDebug(bool? debug, AppraisalPolicy policy) => debug switch
    {
        null => Check.Fail(DebugCheck, "pcr-missing: PCR0, PCR1 or PCR2 is missing, debug mode unknown"),
        true when !policy.AllowDebug => Check.Fail(DebugCheck, "debug: PCR0-2 are all zero (debug enclave)"),
        true => Check.Pass(DebugCheck, "debug-allowed: debug enclave accepted by the policy"),
        false => Check.Pass(DebugCheck, "production enclave"),
    };

    private static Check CheckPcrs(NitroDocument document, AppraisalPolicy policy)
    {
        var pinned = 0;
        foreach (var (name, value) in policy.ExpectedRegisters)
        {
            if (!name.StartsWith("pcr", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!int.TryParse(name.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index > 31)
            {
                return Check.Fail(PcrsCheck, $"policy-invalid: register \"{name}\" is not pcr0..pcr31");
            }

            pinned++;
            if (document.Pcr(index) is not { } pcr)
            {
                return Check.Fail(PcrsCheck, $"pcr-missing: pcr{index} is not in the document");
            }

            if (!HexEquals(pcr.Span, value))
            {
                return Check.Fail(PcrsCheck, $"pcr-mismatch: pcr{index} is not the expected value");
            }
        }

        return pinned == 0
            ? Check.NotEvaluated(PcrsCheck, "not-pinned: the policy pins no PCR")
            : Check.Pass(PcrsCheck, $"{pinned} PCRs match");
    }

    private static Check CheckMeasurement(NitroDocument document, AppraisalPolicy policy)
    {
        if (policy.Measurements.Count == 0)
        {
            return Check.NotEvaluated(MeasurementCheck, "not-pinned: PCR0 reported, not judged");
        }

        if (document.Pcr(0) is not { } pcr0)
        {
            return Check.Fail(MeasurementCheck, "pcr-missing: the document has no PCR0");
        }

        foreach (var measurement in policy.Measurements)
        {
            if (HexEquals(pcr0.Span, measurement))
            {
                return Check.Pass(MeasurementCheck, "PCR0 is an accepted measurement");
            }
        }

        return Check.Fail(MeasurementCheck, "measurement-mismatch: PCR0 is not an accepted measurement");
    }

    /// <summary>The chain's validity window (every certificate's, the leaf's three hours in practice) covers the verification time.</summary>
    private static Check CheckValidity(NitroVerifiedChain? chain, DateTimeOffset at)
    {
        if (chain is null)
        {
            return Check.NotEvaluated(ValidityCheck, "no-chain: no chain to the pinned root was verified", Verdict.Contraindicated);
        }

        // Differences, not sums: DateTimeOffset arithmetic near its limits throws, a TimeSpan difference does not.
        if (chain.NotBefore - at > AllowedClockSkew)
        {
            return Check.Fail(ValidityCheck, $"not-yet-valid: the chain is valid from {Iso(chain.NotBefore)}, verification time {Iso(at)}");
        }

        return at > chain.NotAfter
            ? Check.Fail(ValidityCheck, $"expired: the chain expired at {Iso(chain.NotAfter)}, verification time {Iso(at)}")
            : Check.Pass(ValidityCheck, $"ok: the chain is valid until {Iso(chain.NotAfter)}");
    }

    /// <summary>A document from the future is refused whatever the policy; the maximum age applies when the policy sets one.</summary>
    private static Check CheckFreshness(NitroDocument document, AppraisalPolicy policy, DateTimeOffset at)
    {
        var age = at - document.Timestamp;
        if (-age > AllowedClockSkew)
        {
            return Check.Fail(FreshnessCheck, $"future: issued {Iso(document.Timestamp)}, after {Iso(at)}");
        }

        if (policy.MaxAge is not { } maxAge)
        {
            return Check.NotEvaluated(FreshnessCheck, $"no-max-age: issued {Iso(document.Timestamp)}, the policy sets no maximum age");
        }

        return age > maxAge
            ? Check.Fail(FreshnessCheck, $"too-old: issued {Iso(document.Timestamp)}, older than {maxAge} at {Iso(at)}")
            : Check.Pass(FreshnessCheck, $"issued {Iso(document.Timestamp)}");
    }

    private static Check CheckBytes(string check, string what, ReadOnlyMemory<byte>? actual, string? expected)
    {
        if (expected is null)
        {
            return Check.NotEvaluated(check, $"not-requested: the policy expects no {what}");
        }

        if (actual is not { } value)
        {
            return Check.Fail(check, $"{what}-missing: the document carries no {what}");
        }

        return HexEquals(value.Span, expected)
            ? Check.Pass(check, $"{what} matches")
            : Check.Fail(check, $"{what}-mismatch: the document's {what} is not the expected one");
    }

    private static bool HexEquals(ReadOnlySpan<byte> actual, string expectedHex)
    {
        var trimmed = expectedHex.AsSpan().Trim();
        if (trimmed.Length != actual.Length * 2)
        {
            return false;
        }

        var expected = new byte[actual.Length];
        return Convert.FromHexString(trimmed, expected, out _, out var written) == System.Buffers.OperationStatus.Done
            && written == actual.Length
            && expected.AsSpan().SequenceEqual(actual);
    }

    private static AttestationClaims Claims(NitroDocument document, bool? debug)
    {
        var extra = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["module_id"] = document.ModuleId,
            ["digest"] = "SHA384",
        };
        foreach (var (index, value) in document.Pcrs)
        {
            extra[string.Create(CultureInfo.InvariantCulture, $"pcr{index}")] = Convert.ToHexStringLower(value.Span);
        }

        if (document.PublicKey is { } publicKey)
        {
            extra["public_key"] = Convert.ToHexStringLower(publicKey.Span);
        }

        return new AttestationClaims
        {
            Tee = TeeType.Nitro,
            Measurement = document.Pcr(0) is { } pcr0 ? Convert.ToHexStringLower(pcr0.Span) : null,
            Debug = debug,
            IssuedAt = document.Timestamp,
            Nonce = document.Nonce is { } nonce ? Convert.ToHexStringLower(nonce.Span) : null,
            ReportData = document.UserData is { } userData ? Convert.ToHexStringLower(userData.Span) : null,
            Extra = extra,
        };
    }

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
