using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Cloister.Attestation.Tdx;

/// <summary>The DCAP appraisal shared by <see cref="TdxVerifier"/> and <see cref="SgxVerifier"/>.</summary>
internal static class DcapAppraiser
{
    private const string PckSubject = "Intel SGX PCK Certificate";
    private const string TcbSigningSubject = "Intel SGX TCB Signing";
    private const ulong TdAttributeDebug = 1UL << 0;
    private static readonly string[] PckIssuers = ["Intel SGX PCK Platform CA", "Intel SGX PCK Processor CA"];
    private const ulong TdAttributeSeptVeDisable = 1UL << 28;

    public static AttestationResult Verify(TeeType tee, EvidenceBundle? evidence, AppraisalPolicy? policy, DateTimeOffset at)
    {
        if (evidence is null || evidence.Bytes is null)
        {
            return AttestationResult.Unreadable(tee, "quote-structure", "quote-structure: no evidence bytes");
        }

        if (policy is null)
        {
            return AttestationResult.Unreadable(tee, "policy", "policy: no appraisal policy");
        }

        if (evidence.Type != tee)
        {
            return AttestationResult.Unreadable(tee, "quote-structure", $"quote-structure: {evidence.Type} evidence given to the {tee} verifier");
        }

        try
        {
            return VerifyCore(tee, evidence, policy, at);
        }
        catch (CryptographicException e)
        {
            return AttestationResult.Unreadable(tee, "quote-structure", $"quote-structure: cryptographic error ({e.Message})");
        }
        catch (AsnContentException e)
        {
            return AttestationResult.Unreadable(tee, "quote-structure", $"quote-structure: malformed ASN.1 ({e.Message})");
        }
        catch (JsonException e)
        {
            return AttestationResult.Unreadable(tee, "collateral", $"collateral: malformed JSON ({e.Message})");
        }
        catch (FormatException e)
        {
            return AttestationResult.Unreadable(tee, "quote-structure", $"quote-structure: malformed input ({e.Message})");
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json reports some malformed input this way (e.g. invalid UTF-8 in a string).
            return AttestationResult.Unreadable(tee, "quote-structure", $"quote-structure: malformed input ({e.Message})");
        }
        catch (ArgumentException e)
        {
            return AttestationResult.Unreadable(tee, "quote-structure", $"quote-structure: malformed input ({e.Message})");
        }
    }

    private static AttestationResult VerifyCore(TeeType tee, EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at)
    {
        if (!DcapQuote.TryParse(evidence.Bytes, out var parsed, out var parseError))
        {
            return AttestationResult.Unreadable(tee, "quote-structure", parseError);
        }

        var quote = parsed!;
        uint expectedTeeType = tee == TeeType.Tdx ? DcapQuote.TeeTypeTdx : DcapQuote.TeeTypeSgx;
        if (quote.TeeType != expectedTeeType)
        {
            return AttestationResult.Unreadable(tee, "quote-structure", $"quote-structure: TEE type 0x{quote.TeeType:x2} is not {tee}");
        }

        var checks = new List<Check>();
        var extra = new Dictionary<string, string>(StringComparer.Ordinal);
        string body = quote.Kind switch
        {
            DcapBodyKind.Td10 => "TD1.0",
            DcapBodyKind.Td15 => "TD1.5",
            _ => "SGX enclave",
        };
        checks.Add(Check.Pass("quote-structure", $"quote-structure: v{quote.Version} {body} quote, {quote.TrailingBytes} trailing bytes tolerated"));
        extra["quote_version"] = quote.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        extra["trailing_bytes"] = quote.TrailingBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);

        checks.Add(policy.AllowedTees.Contains(tee)
            ? Check.Pass("tee-type", $"tee-type: {tee} allowed")
            : Check.Fail("tee-type", $"tee-type: {tee} not allowed by policy {policy.Id}"));

        checks.Add(CheckQuoteSignature(quote));
        checks.Add(CheckQeBinding(quote));

        // PCK chain.
        X509Certificate2? pck = null;
        DcapPckExtension? pckExtension = null;
        List<X509Certificate2> pckChain = [];
        if (!DcapRoots.TryReadPemCertificates(quote.PckChainData, out pckChain))
        {
            checks.Add(Check.Fail("pck-chain", "pck-chain: certification data is not a PEM certificate chain"));
        }
        else
        {
            pck = pckChain[0];
            if (!DcapChainVerifier.TryVerify(pckChain, at, out var chainError))
            {
                checks.Add(Check.Fail("pck-chain", $"pck-chain: {chainError}"));
            }
            else if (IsCa(pck) || pck.GetNameInfo(X509NameType.SimpleName, false) != PckSubject
                || !PckIssuers.Contains(pck.GetNameInfo(X509NameType.SimpleName, true)))
            {
                checks.Add(Check.Fail("pck-chain", $"pck-chain: the leaf is not an Intel SGX PCK Certificate issued by the Platform or Processor CA ({pck.Subject})"));
            }
            else if (!DcapPckExtension.TryRead(pck, out pckExtension))
            {
                checks.Add(Check.Fail("pck-chain", "pck-chain: PCK certificate has no readable SGX extension (FMSPC, PCE-ID, TCB)"));
            }
            else
            {
                checks.Add(Check.Pass("pck-chain", $"pck-chain: PCK chains to the Intel SGX Root CA at {at:O}"));
                extra["fmspc"] = Convert.ToHexStringLower(pckExtension!.Fmspc);
                extra["pce_id"] = Convert.ToHexStringLower(pckExtension.PceId);
                extra["pce_svn"] = pckExtension.PceSvn.ToString(System.Globalization.CultureInfo.InvariantCulture);
                extra["pck_cpusvn_components"] = Convert.ToHexStringLower(pckExtension.CpuSvnComponents);
            }
        }

        checks.Add(CheckQeReportSignature(quote, pck));

        // Collateral and TCB status.
        string? tcbStatus = null;
        IReadOnlyList<string> advisories = [];
        if (evidence.Collateral is null || evidence.Collateral.Count == 0)
        {
            checks.Add(Check.NotEvaluated("collateral", "collateral: none given", Verdict.Warning));
            checks.Add(Check.NotEvaluated("tcb-status", "tcb-status: no collateral, TCB not evaluated", Verdict.Warning));
        }
        else
        {
            // Certificates given beside the evidence (e.g. a TCB Signing chain) are extra collateral; the PCK chain
            // always comes from the quote itself.
            var items = evidence.Certificates is { Count: > 0 } certificates ? [.. evidence.Collateral, .. certificates] : evidence.Collateral;
            (tcbStatus, advisories) = AppraiseCollateral(tee, quote, items, pck, pckChain, pckExtension, policy, at, checks);
        }

        // Policy on the report.
        bool debug;
        string measurement;
        string reportData;
        string tcb;
        if (tee == TeeType.Tdx)
        {
            ulong attributes = quote.TdAttributes;
            debug = (attributes & TdAttributeDebug) != 0;
            measurement = Convert.ToHexStringLower(quote.MrTd);
            reportData = Convert.ToHexStringLower(quote.TdReportData);
            tcb = Convert.ToHexStringLower(quote.TeeTcbSvn);
            extra["td_attributes"] = attributes.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
            extra["xfam"] = Convert.ToHexStringLower(quote.Xfam);
            extra["mrseam"] = Convert.ToHexStringLower(quote.MrSeam);
            extra["mrsignerseam"] = Convert.ToHexStringLower(quote.MrSignerSeam);
            extra["seam_attributes"] = Convert.ToHexStringLower(quote.SeamAttributes);
            extra["mrconfigid"] = Convert.ToHexStringLower(quote.MrConfigId);
            extra["mrowner"] = Convert.ToHexStringLower(quote.MrOwner);
            extra["mrownerconfig"] = Convert.ToHexStringLower(quote.MrOwnerConfig);
            for (int i = 0; i < 4; i++)
            {
                extra[$"rtmr{i}"] = Convert.ToHexStringLower(quote.Rtmr(i));
            }

            if (quote.Kind == DcapBodyKind.Td15)
            {
                extra["tee_tcb_svn2"] = Convert.ToHexStringLower(quote.TeeTcbSvn2);
                extra["mrservicetd"] = Convert.ToHexStringLower(quote.MrServiceTd);
            }

            checks.Add(quote.QeReport.Debug
                ? Check.Fail("debug", "debug: the quoting enclave is a debug enclave")
                : debug && !policy.AllowDebug
                ? Check.Fail("debug", "debug: TD attribute bit 0 (DEBUG) is set")
                : Check.Pass("debug", debug ? "debug: DEBUG set, allowed by policy" : "debug: not a debug TD"));

            bool septVeDisable = (attributes & TdAttributeSeptVeDisable) != 0;
            extra["sept_ve_disable"] = septVeDisable ? "true" : "false";
            checks.Add(septVeDisable
                ? Check.Pass("sept-ve-disable", "sept-ve-disable: set")
                : policy.RequireSeptVeDisable
                    ? Check.Fail("sept-ve-disable", "sept-ve-disable: TD attribute bit 28 (SEPT_VE_DISABLE) is not set and the policy requires it")
                    : Check.Pass("sept-ve-disable", "sept-ve-disable: not set, not required by policy"));

            checks.Add(CheckTdAttributesAndXfam(attributes, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(quote.Xfam)));
            checks.Add(CheckRtmrs(quote, policy));
        }
        else
        {
            var enclave = quote.Enclave!;
            debug = enclave.Debug;
            measurement = Convert.ToHexStringLower(enclave.MrEnclave);
            reportData = Convert.ToHexStringLower(enclave.ReportData);
            tcb = Convert.ToHexStringLower(enclave.CpuSvn);
            extra["mrsigner"] = Convert.ToHexStringLower(enclave.MrSigner);
            extra["isv_prod_id"] = enclave.IsvProdId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            extra["isv_svn"] = enclave.IsvSvn.ToString(System.Globalization.CultureInfo.InvariantCulture);
            extra["attributes"] = Convert.ToHexStringLower(enclave.Attributes);
            extra["miscselect"] = enclave.MiscSelect.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
            checks.Add(quote.QeReport.Debug
                ? Check.Fail("debug", "debug: the quoting enclave is a debug enclave")
                : debug && !policy.AllowDebug
                ? Check.Fail("debug", "debug: enclave ATTRIBUTES.DEBUG is set")
                : Check.Pass("debug", debug ? "debug: DEBUG set, allowed by policy" : "debug: not a debug enclave"));
        }

        checks.Add(policy.Measurements.Count == 0
            ? Check.NotEvaluated("measurement", "measurement: not pinned by policy, reported only")
            : policy.Measurements.Any(m => string.Equals(m, measurement, StringComparison.OrdinalIgnoreCase))
                ? Check.Pass("measurement", "measurement: matches the policy")
                : Check.Fail("measurement", $"measurement: {measurement} is not among the policy's measurements"));

        checks.Add(CheckReportData(reportData, policy));

        var claims = new AttestationClaims
        {
            Tee = tee,
            Measurement = measurement,
            Debug = debug,
            Tcb = tcb,
            TcbStatus = tcbStatus,
            AdvisoryIds = advisories,
            ReportData = reportData,
            Extra = extra,
        };
        return AttestationResult.From(claims, checks);
    }

    private static Check CheckQuoteSignature(DcapQuote quote)
    {
        using var key = TryImportP256(quote.AttestationKey);
        if (key is null)
        {
            return Check.Fail("quote-signature", "quote-signature: attestation key is not a valid P-256 point");
        }

        return key.VerifyData(quote.SignedRegion, quote.QuoteSignature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            ? Check.Pass("quote-signature", "quote-signature: valid by the attestation key")
            : Check.Fail("quote-signature", "quote-signature: invalid (header or body tampered, or wrong key)");
    }

    private static Check CheckQeBinding(DcapQuote quote)
    {
        Span<byte> digest = stackalloc byte[32];
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            hash.AppendData(quote.AttestationKey);
            hash.AppendData(quote.QeAuthData);
            hash.GetHashAndReset(digest);
        }

        var reportData = quote.QeReport.ReportData;
        bool ok = reportData[..32].SequenceEqual(digest) && !reportData[32..].ContainsAnyExcept((byte)0);
        return ok
            ? Check.Pass("qe-binding", "qe-binding: QE report data = SHA-256(attestation key || QE auth data)")
            : Check.Fail("qe-binding", "qe-binding: QE report data is not SHA-256(attestation key || QE auth data) || zeros");
    }

    private static Check CheckQeReportSignature(DcapQuote quote, X509Certificate2? pck)
    {
        if (pck is null)
        {
            return Check.Fail("qe-report-signature", "qe-report-signature: no PCK certificate to check it with");
        }

        using var key = pck.GetECDsaPublicKey();
        if (key is null || key.KeySize != 256)
        {
            return Check.Fail("qe-report-signature", "qe-report-signature: PCK key is not ECDSA P-256");
        }

        return key.VerifyData(quote.QeReport.Raw, quote.QeReportSignature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            ? Check.Pass("qe-report-signature", "qe-report-signature: valid by the PCK")
            : Check.Fail("qe-report-signature", "qe-report-signature: invalid (QE report tampered or wrong PCK)");
    }

    /// <summary>
    /// Reserved TD attribute bits and XFAM fixed bits (go-tdx-guest's tdAttributesFixed0 and xfamFixed0/1). Known TD
    /// attributes: DEBUG (0), LASS (27), SEPT_VE_DISABLE (28), MIGRATABLE (29), PKS (30), KL (31), PERFMON (63).
    /// </summary>
    internal static Check CheckTdAttributesAndXfam(ulong attributes, ulong xfam)
    {
        const ulong KnownTdAttributes = 1UL | (1UL << 27) | (1UL << 28) | (1UL << 29) | (1UL << 30) | (1UL << 31) | (1UL << 63);
        const ulong XfamFixed1 = 0x3;
        const ulong XfamFixed0 = 0x0006DBE7;
        if ((attributes & ~KnownTdAttributes) != 0)
        {
            return Check.Fail("td-attributes", $"td-attributes: reserved TD attribute bits set (0x{attributes & ~KnownTdAttributes:x16})");
        }

        if ((xfam & XfamFixed1) != XfamFixed1 || (xfam & ~XfamFixed0) != 0)
        {
            return Check.Fail("td-attributes", $"td-attributes: XFAM 0x{xfam:x16} violates the fixed bits (1: 0x3, 0: 0x6dbe7)");
        }

        return Check.Pass("td-attributes", $"td-attributes: 0x{attributes:x16}, XFAM 0x{xfam:x16}");
    }

    private static Check CheckRtmrs(DcapQuote quote, AppraisalPolicy policy)
    {
        var expected = policy.ExpectedRegisters.Where(p => p.Key.StartsWith("rtmr", StringComparison.Ordinal)).ToList();
        if (expected.Count == 0)
        {
            return Check.NotEvaluated("rtmrs", "rtmrs: not pinned by policy, reported only");
        }

        foreach (var (name, value) in expected)
        {
            if (name.Length != 5 || name[4] < '0' || name[4] > '3')
            {
                return Check.Fail("rtmrs", $"rtmrs: policy names an unknown register {name}");
            }

            var actual = Convert.ToHexStringLower(quote.Rtmr(name[4] - '0'));
            if (!string.Equals(actual, value, StringComparison.OrdinalIgnoreCase))
            {
                return Check.Fail("rtmrs", $"rtmrs: {name} is {actual}, policy expects {value}");
            }
        }

        return Check.Pass("rtmrs", $"rtmrs: {string.Join(", ", expected.Select(e => e.Key))} match the policy");
    }

    private static Check CheckReportData(string reportData, AppraisalPolicy policy)
    {
        if (policy.ExpectedReportData is null)
        {
            return Check.NotEvaluated("report-data", "report-data: no expected value in policy, reported only");
        }

        // A shorter expected value (e.g. a 32-byte nonce) must be a prefix followed by zeros.
        var expected = policy.ExpectedReportData.ToLowerInvariant();
        bool ok = expected.Length <= reportData.Length
            && reportData.StartsWith(expected, StringComparison.Ordinal)
            && reportData.AsSpan(expected.Length).IndexOfAnyExcept('0') < 0;
        return ok
            ? Check.Pass("report-data", "report-data: matches the expected value")
            : Check.Fail("report-data", "report-data: does not match the expected value");
    }

    private static (string? Status, IReadOnlyList<string> Advisories) AppraiseCollateral(
        TeeType tee, DcapQuote quote, IReadOnlyList<byte[]> items, X509Certificate2? pck, List<X509Certificate2> pckChain,
        DcapPckExtension? pckExtension, AppraisalPolicy policy, DateTimeOffset at, List<Check> checks)
    {
        if (!DcapCollateral.TryRead(items, out var collateral, out var readError))
        {
            checks.Add(Check.Fail("collateral", readError));
            checks.Add(Check.NotEvaluated("tcb-status", "tcb-status: collateral unreadable", Verdict.Warning));
            return (null, []);
        }

        var problems = new List<string>();
        var root = DcapRoots.IntelSgxRoot;
        var tcbInfo = VerifySignedJson("TCB info", collateral.TcbInfo, collateral.TcbInfoSignature, collateral.TcbInfoChain, collateral, at, problems,
            tee == TeeType.Tdx ? "TDX" : "SGX", out var tcbSigner);
        var qeIdentity = VerifySignedJson("QE identity", collateral.QeIdentity, collateral.QeIdentitySignature, collateral.QeIdentityChain, collateral, at, problems,
            tee == TeeType.Tdx ? "TD_QE" : "QE", out var qeSigner);

        // CRLs: the Root CA CRL (covers the intermediates and the TCB Signing certificate) and the PCK CRL of the PCK's issuer.
        var rootCrl = PickCrl(collateral.Crls, root, at);
        if (rootCrl is null)
        {
            problems.Add("no Intel SGX Root CA CRL signed by the root");
        }
        else
        {
            if (!rootCrl.IsCurrent(at))
            {
                problems.Add($"Root CA CRL not current at {at:O} (this update {rootCrl.ThisUpdate:O}, next update {rootCrl.NextUpdate:O})");
            }

            foreach (var revokable in pckChain.Skip(1).Concat([tcbSigner, qeSigner]).OfType<X509Certificate2>())
            {
                if (!revokable.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span) && rootCrl.Revokes(revokable))
                {
                    problems.Add($"{revokable.GetNameInfo(X509NameType.SimpleName, false)} is revoked by the Root CA CRL");
                }
            }
        }

        if (pck is not null)
        {
            var pckIssuer = pckChain.Skip(1).FirstOrDefault(c => c.SubjectName.RawData.AsSpan().SequenceEqual(pck.IssuerName.RawData));
            var pckCrl = pckIssuer is null ? null : PickCrl(collateral.Crls, pckIssuer, at);
            if (pckCrl is null)
            {
                problems.Add($"no PCK CRL signed by {pck.IssuerName.Name}");
            }
            else
            {
                if (!pckCrl.IsCurrent(at))
                {
                    problems.Add($"PCK CRL not current at {at:O} (this update {pckCrl.ThisUpdate:O}, next update {pckCrl.NextUpdate:O})");
                }

                if (pckCrl.Revokes(pck))
                {
                    problems.Add("PCK certificate is revoked");
                }
            }
        }

        DcapTcbOutcome? qeOutcome = null;
        if (qeIdentity is not null)
        {
            using (qeIdentity)
            {
                qeOutcome = DcapTcbEvaluator.EvaluateQe(qeIdentity.RootElement, quote.QeReport);
            }

            if (qeOutcome.Status is null)
            {
                problems.Add(qeOutcome.Detail.Replace("collateral: ", "", StringComparison.Ordinal));
            }
        }

        checks.Add(problems.Count == 0
            ? Check.Pass("collateral", "collateral: TCB info, QE identity and CRLs signed, chained to the Intel SGX Root CA and current")
            : Check.Fail("collateral", "collateral: " + string.Join("; ", problems)));

        if (tcbInfo is null || pckExtension is null)
        {
            tcbInfo?.Dispose();
            checks.Add(Check.NotEvaluated("tcb-status", pckExtension is null ? "tcb-status: no verified PCK TCB" : "tcb-status: no verified TCB info", Verdict.Warning));
            return (null, []);
        }

        DcapTcbOutcome platform;
        using (tcbInfo)
        {
            platform = DcapTcbEvaluator.EvaluatePlatform(tcbInfo.RootElement, quote, pckExtension);
        }

        if (platform.Status is null)
        {
            checks.Add(Check.Fail("tcb-status", platform.Detail));
            return (null, []);
        }

        string status = platform.Status;
        IReadOnlyList<string> advisories = platform.AdvisoryIds;
        string detail = platform.Detail;
        if (qeOutcome?.Status is { } qeStatus)
        {
            status = DcapTcbEvaluator.Worst(status, qeStatus);
            advisories = [.. advisories.Union(qeOutcome.AdvisoryIds, StringComparer.Ordinal)];
            detail += $", {qeOutcome.Detail}";
        }

        string reason = $"tcb-status: {status}" + (advisories.Count > 0 ? $" ({string.Join(", ", advisories)})" : "") + $" [{detail}]";
        checks.Add(policy.AffirmingTcbStatuses.Contains(status)
            ? Check.Pass("tcb-status", reason)
            : policy.WarningTcbStatuses.Contains(status)
                ? Check.Warn("tcb-status", reason)
                : Check.Fail("tcb-status", reason));
        return (status, advisories);
    }

    private static DcapCrl? PickCrl(List<DcapCrl> crls, X509Certificate2 issuer, DateTimeOffset at)
    {
        DcapCrl? signed = null;
        foreach (var crl in crls)
        {
            if (crl.IsSignedBy(issuer))
            {
                if (crl.IsCurrent(at))
                {
                    return crl;
                }

                signed ??= crl;
            }
        }

        return signed;
    }

    /// <summary>Verifies a signed collateral JSON; returns its parsed document, or null after adding a problem.</summary>
    private static JsonDocument? VerifySignedJson(
        string what, byte[]? json, byte[]? signature, List<X509Certificate2> chain, DcapCollateral collateral, DateTimeOffset at,
        List<string> problems, string expectedId, out X509Certificate2? signer)
    {
        signer = null;
        if (json is null || signature is null)
        {
            problems.Add($"no {what}");
            return null;
        }

        var candidates = chain.Count > 0 ? chain : collateral.LooseCertificates;
        // Only Intel's TCB Signing certificate may sign collateral: any other leaf under the root (a PCK) must not.
        var leaf = candidates.FirstOrDefault(c => !IsCa(c) && c.GetNameInfo(X509NameType.SimpleName, false) == TcbSigningSubject);
        signer = leaf;
        if (leaf is null)
        {
            problems.Add($"no signing certificate (Intel SGX TCB Signing) for the {what}");
            return null;
        }

        var ordered = new List<X509Certificate2> { leaf };
        ordered.AddRange(candidates.Where(c => !ReferenceEquals(c, leaf)));
        if (!DcapChainVerifier.TryVerify(ordered, at, out var chainError))
        {
            problems.Add($"{what} signer: {chainError}");
            return null;
        }

        using (var key = leaf.GetECDsaPublicKey())
        {
            if (key is null || signature.Length != 64
                || !key.VerifyData(json, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            {
                problems.Add($"{what} signature invalid");
                return null;
            }
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException)
        {
            problems.Add($"{what} is not JSON");
            return null;
        }

        if (!DcapTcbEvaluator.TryReadHeader(document.RootElement, out var id, out var issueDate, out var nextUpdate))
        {
            document.Dispose();
            problems.Add($"{what} lacks id, issueDate or nextUpdate");
            return null;
        }

        if (!string.Equals(id, expectedId, StringComparison.Ordinal))
        {
            document.Dispose();
            problems.Add($"{what} id {id} is not {expectedId}");
            return null;
        }

        if (at < issueDate || at > nextUpdate)
        {
            // Still usable for the TCB status, but the collateral check fails.
            problems.Add($"{what} not current at {at:O} (issued {issueDate:O}, next update {nextUpdate:O})");
        }

        return document;
    }

    private static bool IsCa(X509Certificate2 certificate)
        => certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault()?.CertificateAuthority ?? false;

    private static ECDsa? TryImportP256(byte[] xy)
    {
        try
        {
            return ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = xy[..32], Y = xy[32..] },
            });
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
