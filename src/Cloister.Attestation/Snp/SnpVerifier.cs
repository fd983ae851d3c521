using System.Globalization;
using System.Security.Cryptography;

namespace Cloister.Attestation.Snp;

/// <summary>
/// Verifies AMD SEV-SNP attestation reports (versions 2–5; Milan, Genoa, Turin), raw or inside Azure's vTPM HCL report:
/// the report signature by the VCEK or VLEK given in <see cref="EvidenceBundle.Certificates"/> (DER or PEM), that
/// certificate's RSASSA-PSS chain to the AMD roots built into the library, validity at the verification time, the
/// certificate's TCB and hwID extensions against the report, and the appraisal policy. Never throws for bad evidence.
/// </summary>
/// <remarks>
/// Check names (stable): format, tee-allowed, reserved-fields, vcek-chain, cert-validity, report-signature, signer,
/// product, tcb-extensions, chip-id, debug, migration-agent, smt, vmpl, tcb-minimum, measurement, report-data, host-data,
/// runtime-claims (HCL only), provisional-firmware. Each reason starts with a stable code ("debug: …", "expired: …").
/// Verified VCEK/VLEK certificates are cached (bounded, thread-safe) by the SHA-256 of their DER; an instance is safe
/// to share between threads.
/// </remarks>
public sealed class SnpVerifier : IEvidenceVerifier
{
    /// <summary>How many verified VCEK/VLEK certificates the default instance remembers.</summary>
    public const int DefaultChainCacheCapacity = 1024;

    private readonly SnpChainCache _cache;

    public SnpVerifier()
        : this(DefaultChainCacheCapacity)
    {
    }

    /// <param name="chainCacheCapacity">Verified certificates kept (0 disables the cache, so every call builds the chain).</param>
    public SnpVerifier(int chainCacheCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chainCacheCapacity);
        _cache = new SnpChainCache(chainCacheCapacity);
    }

    public TeeType Type => TeeType.SevSnp;

    /// <summary>Verified certificates currently cached.</summary>
    public int CachedChainCount => _cache.Count;

    public AttestationResult Verify(EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentNullException.ThrowIfNull(policy);
        try
        {
            return VerifyCore(evidence, policy, at);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Safety net: a bug must not turn bad evidence into an exception for the caller; it is never a pass.
            return AttestationResult.Unreadable(TeeType.SevSnp, "verifier-error", $"verifier-error: {ex.GetType().Name}");
        }
    }

    private AttestationResult VerifyCore(EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at)
    {
        if (evidence.Type != TeeType.SevSnp)
        {
            return AttestationResult.Unreadable(TeeType.SevSnp, "format", $"type: evidence of type {evidence.Type} given to the SEV-SNP verifier");
        }

        ReadOnlySpan<byte> input = evidence.Bytes;
        ReadOnlySpan<byte> reportBytes = input;
        var hcl = default(SnpHclReport);
        var isHcl = SnpHclReport.IsHcl(input);
        if (isHcl)
        {
            if (!SnpHclReport.TryParse(input, out hcl, out var hclReason))
            {
                return AttestationResult.Unreadable(TeeType.SevSnp, "format", hclReason!);
            }

            reportBytes = hcl.HardwareReport;
        }

        if (!SnpReport.TryParse(reportBytes, out var report, out var parseReason))
        {
            return AttestationResult.Unreadable(TeeType.SevSnp, "format", parseReason!);
        }

        var checks = new List<Check>(20)
        {
            Check.Pass("format", isHcl ? $"ok: v{report.Version} SNP report in an Azure HCL report" : $"ok: v{report.Version} SNP report"),
            policy.AllowedTees.Contains(TeeType.SevSnp)
                ? Check.Pass("tee-allowed")
                : Check.Fail("tee-allowed", "tee-not-allowed: the policy does not accept SEV-SNP evidence"),
        };

        var reserved = report.FindNonZeroReserved();
        checks.Add(reserved is null ? Check.Pass("reserved-fields") : Check.Fail("reserved-fields", $"reserved-nonzero: {reserved}"));

        var leaf = FindVerifiedLeaf(evidence.Certificates, out var chainReason);
        var product = leaf?.Product ?? report.CpuidProduct();
        var turinLayout = report.UsesTurinLayout(product);
        var reportedTcb = SnpTcb.Parse(report.ReportedTcb, turinLayout);

        if (leaf is null)
        {
            checks.Add(Check.Fail("vcek-chain", chainReason));
            checks.Add(Check.NotEvaluated("cert-validity", "no-certificate: no verified VCEK or VLEK", Verdict.Contraindicated));
            checks.Add(Check.NotEvaluated("report-signature", "no-key: no verified VCEK or VLEK to check the signature with", Verdict.Contraindicated));
        }
        else
        {
            var leafName = SnpVerifiedLeaf.SignerName(leaf.Signer);
            checks.Add(Check.Pass("vcek-chain", $"ok: {leafName} signed by the built-in {leaf.Anchor.IntermediateName} under ARK-{leaf.Product}"));
            checks.Add(CheckValidity(leaf, leafName, at));
            checks.Add(CheckSignature(report, leaf, leafName));
        }

        checks.Add(CheckSigner(report, leaf, policy));
        checks.Add(CheckProduct(report, leaf, policy));
        checks.Add(CheckTcbExtensions(reportedTcb, leaf));
        checks.Add(CheckChipId(report, leaf));

        var guestPolicy = report.Policy;
        checks.Add(CheckPolicyBit(guestPolicy, SnpReport.PolicyDebug, policy.AllowDebug, "debug", "debug: guest policy bit 19 (DEBUG) is set"));
        checks.Add(CheckPolicyBit(guestPolicy, SnpReport.PolicyMigrateMa, policy.AllowMigrationAgent, "migration-agent", "migration-agent: guest policy bit 18 (MIGRATE_MA) is set"));
        checks.Add(CheckPolicyBit(guestPolicy, SnpReport.PolicySmt, policy.AllowSmt, "smt", "smt: guest policy bit 16 (SMT allowed) is set"));
        checks.Add(report.Vmpl <= (uint)Math.Max(0, policy.MaxVmpl)
            ? Check.Pass("vmpl", $"ok: VMPL {report.Vmpl}")
            : Check.Fail("vmpl", $"vmpl: VMPL {report.Vmpl} > {policy.MaxVmpl}, the highest the policy accepts"));
        checks.Add(CheckMinimumTcb(reportedTcb, policy));

        var measurement = SnpHex.ToHex(report.Measurement);
        checks.Add(CheckMeasurement(measurement, policy));
        checks.Add(CheckReportData(report.ReportData, policy.ExpectedReportData));
        checks.Add(CheckHostData(report.HostData, policy.ExpectedHostData));

        string? runtimeClaimsHash = null;
        if (isHcl)
        {
            checks.Add(CheckRuntimeClaims(hcl, report.ReportData, out runtimeClaimsHash));
        }

        checks.Add(report.CurrentTcb.SequenceEqual(report.CommittedTcb)
            ? Check.Pass("provisional-firmware")
            : Check.NotEvaluated("provisional-firmware", "provisional: CURRENT_TCB differs from COMMITTED_TCB (reported; the policy has no setting for it)"));

        var claims = new AttestationClaims
        {
            Tee = TeeType.SevSnp,
            Measurement = measurement,
            Debug = (guestPolicy & SnpReport.PolicyDebug) != 0,
            Tcb = reportedTcb.ToString(),
            ReportData = SnpHex.ToHex(report.ReportData),
            Extra = BuildExtra(report, leaf, product, turinLayout, isHcl, runtimeClaimsHash),
        };
        return AttestationResult.From(claims, checks);
    }

    private SnpVerifiedLeaf? FindVerifiedLeaf(IReadOnlyList<byte[]>? inputs, out string reason)
    {
        // Hot path: an input seen before (a DER certificate, or a PEM holding one) is found by its hash, without decoding.
        if (inputs is not null)
        {
            foreach (var input in inputs)
            {
                if (input is { Length: > 0 and <= SnpCertificates.MaxCertificateInputBytes }
                    && _cache.TryGet(SnpCertificateKey.Of(input), out var cached) && cached is not null)
                {
                    reason = string.Empty;
                    return cached;
                }
            }
        }

        var problems = new List<string>();
        var ders = SnpCertificates.DecodeInputs(inputs, problems);
        string? firstFailure = null;
        foreach (var (der, source) in ders)
        {
            if (SnpAmdRoots.IsBuiltIn(der))
            {
                continue;
            }

            var key = SnpCertificateKey.Of(der);
            var leaf = _cache.TryGet(key, out var cached) ? cached : null;
            if (leaf is null)
            {
                leaf = SnpVerifiedLeaf.TryVerify(der, out var failure);
                if (leaf is null)
                {
                    // A leaf's own failure says more than an unknown issuer (e.g. a non-built-in ASK beside it).
                    if (firstFailure is null || (firstFailure.StartsWith("issuer-unknown", StringComparison.Ordinal) && !failure!.StartsWith("issuer-unknown", StringComparison.Ordinal)))
                    {
                        firstFailure = failure;
                    }

                    continue;
                }

                _cache.Add(key, leaf);
            }

            var input = inputs![source];
            if (!ReferenceEquals(input, der))
            {
                // The PEM that held it maps to the same verified certificate.
                _cache.Add(SnpCertificateKey.Of(input), leaf);
            }

            reason = string.Empty;
            return leaf;
        }

        reason = firstFailure
            ?? (problems.Count > 0 ? $"certificate-unreadable: {problems[0]}" : "no-certificate: no VCEK or VLEK certificate was given");
        return null;
    }

    private static Check CheckValidity(SnpVerifiedLeaf leaf, string leafName, DateTimeOffset at)
    {
        if (at < leaf.NotBefore)
        {
            return Check.Fail("cert-validity", $"not-yet-valid: the {leafName} is valid from {Format(leaf.NotBefore)}, verification time {Format(at)}");
        }

        if (at > leaf.NotAfter)
        {
            return Check.Fail("cert-validity", $"expired: the {leafName} expired at {Format(leaf.NotAfter)}, verification time {Format(at)}");
        }

        if (at < leaf.Anchor.NotBefore || at > leaf.Anchor.NotAfter)
        {
            return Check.Fail("cert-validity", $"anchor-not-valid: the built-in ARK-{leaf.Product} chain is valid {Format(leaf.Anchor.NotBefore)}..{Format(leaf.Anchor.NotAfter)}, verification time {Format(at)}");
        }

        return Check.Pass("cert-validity", $"ok: {leafName} valid until {Format(leaf.NotAfter)}");
    }

    private static Check CheckSignature(SnpReport report, SnpVerifiedLeaf leaf, string leafName)
    {
        if (report.SignatureAlgorithm != 1)
        {
            return Check.Fail("report-signature", $"algorithm-unsupported: SIGNATURE_ALGO {report.SignatureAlgorithm} (only 1 = ECDSA P-384 SHA-384)");
        }

        Span<byte> signature = stackalloc byte[2 * SnpReport.P384ComponentLength];
        report.WriteP1363Signature(signature);
        bool valid;
        try
        {
            valid = leaf.VerifySignature(report.SignedBytes, signature);
        }
        catch (CryptographicException)
        {
            valid = false;
        }

        return valid
            ? Check.Pass("report-signature", $"ok: signed by the {leafName}")
            : Check.Fail("report-signature", $"signature-invalid: the report signature does not verify with the given {leafName}");
    }

    private static Check CheckSigner(SnpReport report, SnpVerifiedLeaf? leaf, AppraisalPolicy policy)
    {
        var signingKey = report.SigningKey;
        if (signingKey is not (SnpSigningKey.Vcek or SnpSigningKey.Vlek))
        {
            return Check.Fail("signer", $"signing-key-unknown: SIGNING_KEY {(int)signingKey} is neither VCEK (0) nor VLEK (1)");
        }

        var name = signingKey == SnpSigningKey.Vlek ? "vlek" : "vcek";
        if (leaf is not null && leaf.Signer != signingKey)
        {
            return Check.Fail("signer", $"signer-mismatch: the report says {name}, the certificate is a {SnpVerifiedLeaf.SignerName(leaf.Signer)}");
        }

        if (!policy.AllowedSigners.Contains(name) && !policy.AllowedSigners.Contains(name.ToUpperInvariant()))
        {
            return Check.Fail("signer", $"signer-not-allowed: {name} is not among the policy's allowed signers");
        }

        return Check.Pass("signer", $"ok: {name}");
    }

    private static Check CheckProduct(SnpReport report, SnpVerifiedLeaf? leaf, AppraisalPolicy policy)
    {
        var cpuidProduct = report.CpuidProduct();
        if (leaf is not null)
        {
            if (cpuidProduct is not null && !string.Equals(cpuidProduct, leaf.Product, StringComparison.Ordinal))
            {
                return Check.Fail("product", $"product-mismatch: the report's CPUID says {cpuidProduct}, the certificate chain is {leaf.Product}");
            }

            if (leaf.ProductName is not null && !leaf.ProductName.StartsWith(leaf.Product, StringComparison.Ordinal))
            {
                return Check.Fail("product", $"product-mismatch: the certificate's productName {leaf.ProductName} is not under ARK-{leaf.Product}");
            }
        }

        var product = leaf?.Product ?? cpuidProduct;
        if (policy.AllowedProducts.Count > 0)
        {
            if (product is null)
            {
                return Check.NotEvaluated("product", "product-unknown: no verified certificate or CPUID names the product", Verdict.Contraindicated);
            }

            if (!policy.AllowedProducts.Any(p => string.Equals(p, product, StringComparison.OrdinalIgnoreCase)))
            {
                return Check.Fail("product", $"product-not-allowed: {product} is not among the policy's allowed products");
            }
        }

        return product is null
            ? Check.NotEvaluated("product", "product-unknown: no verified certificate or CPUID names the product")
            : Check.Pass("product", $"ok: {product}");
    }

    private static Check CheckTcbExtensions(SnpTcb reported, SnpVerifiedLeaf? leaf)
    {
        if (leaf is null)
        {
            return Check.NotEvaluated("tcb-extensions", "no-certificate: no verified VCEK or VLEK", Verdict.Contraindicated);
        }

        if (leaf.ExtensionError is not null)
        {
            return Check.Fail("tcb-extensions", $"extension-invalid: {leaf.ExtensionError}");
        }

        var mismatch = Compare("blSPL", leaf.BootLoader, reported.BootLoader)
            ?? Compare("teeSPL", leaf.Tee, reported.Tee)
            ?? Compare("snpSPL", leaf.Snp, reported.Snp)
            ?? Compare("ucodeSPL", leaf.Microcode, reported.Microcode)
            ?? (reported.TurinLayout ? Compare("fmcSPL", leaf.Fmc, reported.Fmc) : null);
        return mismatch is null
            ? Check.Pass("tcb-extensions", $"ok: certificate SPLs equal REPORTED_TCB {reported}")
            : Check.Fail("tcb-extensions", mismatch);

        static string? Compare(string name, int? certificate, byte report)
            => certificate is null
                ? $"tcb-extension-missing: the certificate has no {name} extension"
                : certificate.Value != report
                    ? $"tcb-mismatch: REPORTED_TCB has {report}, the certificate's {name} is {certificate.Value}"
                    : null;
    }

    private static Check CheckChipId(SnpReport report, SnpVerifiedLeaf? leaf)
    {
        if (leaf is null)
        {
            return Check.NotEvaluated("chip-id", "no-certificate: no verified VCEK", Verdict.Contraindicated);
        }

        if (leaf.Signer == SnpSigningKey.Vlek)
        {
            return Check.Pass("chip-id", "not-applicable: a VLEK is not bound to a chip");
        }

        if (report.MaskChipKey)
        {
            return Check.Pass("chip-id", "masked: MASK_CHIP_KEY is set, CHIP_ID is not reported");
        }

        var hwId = leaf.HardwareId;
        if (hwId is null || hwId.Length == 0 || hwId.Length > report.ChipId.Length)
        {
            return Check.Fail("chip-id", "hwid-missing: the VCEK has no usable hwID extension");
        }

        // Turin VCEKs carry an 8-byte hwID; the report's CHIP_ID then has zeros after it.
        var chipId = report.ChipId;
        var equal = CryptographicOperations.FixedTimeEquals(chipId[..hwId.Length], hwId) && !chipId[hwId.Length..].ContainsAnyExcept((byte)0);
        return equal
            ? Check.Pass("chip-id", "ok: CHIP_ID equals the VCEK hwID")
            : Check.Fail("chip-id", "chip-id-mismatch: CHIP_ID differs from the VCEK hwID");
    }

    private static Check CheckPolicyBit(ulong guestPolicy, ulong bit, bool allowed, string name, string failReason)
    {
        if ((guestPolicy & bit) == 0)
        {
            return Check.Pass(name, "ok: not set");
        }

        return allowed ? Check.Pass(name, "allowed: set and accepted by the policy") : Check.Fail(name, failReason);
    }

    private static Check CheckMinimumTcb(SnpTcb reported, AppraisalPolicy policy)
    {
        if (policy.MinimumTcb.Count == 0)
        {
            return Check.NotEvaluated("tcb-minimum", "no-minimum: the policy sets no minimum TCB");
        }

        foreach (var (component, minimum) in policy.MinimumTcb)
        {
            int? actual = component.ToUpperInvariant() switch
            {
                "BOOTLOADER" or "BL" => reported.BootLoader,
                "TEE" => reported.Tee,
                "SNP" => reported.Snp,
                "MICROCODE" or "UCODE" => reported.Microcode,
                "FMC" => reported.TurinLayout ? reported.Fmc : null,
                _ => -1,
            };
            if (actual == -1)
            {
                return Check.Fail("tcb-minimum", $"policy-invalid: unknown TCB component '{component}'");
            }

            if (actual is null)
            {
                continue; // fmc exists from Turin on
            }

            if (actual.Value < minimum)
            {
                return Check.Fail("tcb-minimum", $"tcb-too-low: REPORTED_TCB {component} {actual.Value} is lower than the policy minimum {minimum}");
            }
        }

        return Check.Pass("tcb-minimum", $"ok: REPORTED_TCB {reported} meets the minimum");
    }

    private static Check CheckMeasurement(string measurement, AppraisalPolicy policy)
    {
        if (policy.Measurements.Count == 0)
        {
            return Check.NotEvaluated("measurement", "not-pinned: the measurement is reported, not judged");
        }

        foreach (var expected in policy.Measurements)
        {
            if (string.Equals(expected?.Trim(), measurement, StringComparison.OrdinalIgnoreCase))
            {
                return Check.Pass("measurement", "ok: MEASUREMENT is pinned by the policy");
            }
        }

        return Check.Fail("measurement", $"measurement-mismatch: MEASUREMENT {measurement} is not among the policy's measurements");
    }

    private static Check CheckHostData(ReadOnlySpan<byte> hostData, string? expectedHex)
    {
        if (expectedHex is null)
        {
            return Check.NotEvaluated("host-data", "not-requested: the policy expects no host data");
        }

        if (!SnpHex.TryParse(expectedHex, out var expected) || expected.Length != hostData.Length)
        {
            return Check.Fail("host-data", "policy-invalid: the expected host data is not 32 bytes of hex");
        }

        return CryptographicOperations.FixedTimeEquals(hostData, expected)
            ? Check.Pass("host-data", "ok: HOST_DATA equals the expected value")
            : Check.Fail("host-data", "host-data-mismatch: HOST_DATA differs from the expected value");
    }

    private static Check CheckReportData(ReadOnlySpan<byte> reportData, string? expectedHex)
    {
        if (expectedHex is null)
        {
            return Check.NotEvaluated("report-data", "not-requested: the policy expects no report data");
        }

        if (!SnpHex.TryParse(expectedHex, out var expected) || expected.Length == 0 || expected.Length > reportData.Length)
        {
            return Check.Fail("report-data", "policy-invalid: the expected report data is not 1..64 bytes of hex");
        }

        // A shorter expected value (e.g. a 32-byte hash) must be followed by zeros.
        var equal = CryptographicOperations.FixedTimeEquals(reportData[..expected.Length], expected)
            && !reportData[expected.Length..].ContainsAnyExcept((byte)0);
        return equal
            ? Check.Pass("report-data", "ok: REPORT_DATA equals the expected value")
            : Check.Fail("report-data", "report-data-mismatch: REPORT_DATA differs from the expected value (nonce not bound)");
    }

    private static Check CheckRuntimeClaims(SnpHclReport hcl, ReadOnlySpan<byte> reportData, out string? hashHex)
    {
        Span<byte> hash = stackalloc byte[64];
        int length;
        switch (hcl.HashType)
        {
            case 1:
                length = SHA256.HashData(hcl.Claims, hash);
                break;
            case 2:
                length = SHA384.HashData(hcl.Claims, hash);
                break;
            case 3:
                length = SHA512.HashData(hcl.Claims, hash);
                break;
            default:
                hashHex = null;
                return Check.Fail("runtime-claims", $"hash-type-unknown: HCL runtime data hash type {hcl.HashType}");
        }

        hashHex = SnpHex.ToHex(hash[..length]);
        return reportData[..length].SequenceEqual(hash[..length])
            ? Check.Pass("runtime-claims", "ok: the runtime claims' hash is bound in REPORT_DATA")
            : Check.Fail("runtime-claims", "runtime-claims-unbound: REPORT_DATA does not hold the hash of the HCL runtime claims");
    }

    private static Dictionary<string, string> BuildExtra(SnpReport report, SnpVerifiedLeaf? leaf, string? product, bool turinLayout, bool isHcl, string? runtimeClaimsHash)
    {
        var extra = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["version"] = report.Version.ToString(CultureInfo.InvariantCulture),
            ["signer"] = report.SigningKey switch { SnpSigningKey.Vcek => "vcek", SnpSigningKey.Vlek => "vlek", _ => "unknown" },
            ["vmpl"] = report.Vmpl.ToString(CultureInfo.InvariantCulture),
            ["guest_svn"] = report.GuestSvn.ToString(CultureInfo.InvariantCulture),
            ["policy"] = "0x" + report.Policy.ToString("x", CultureInfo.InvariantCulture),
            ["platform_info"] = "0x" + report.PlatformInfo.ToString("x", CultureInfo.InvariantCulture),
            ["host_data"] = SnpHex.ToHex(report.HostData),
            ["chip_id"] = SnpHex.ToHex(report.ChipId),
            ["family_id"] = SnpHex.ToHex(report.FamilyId),
            ["image_id"] = SnpHex.ToHex(report.ImageId),
            ["id_key_digest"] = SnpHex.ToHex(report.IdKeyDigest),
            ["author_key_digest"] = SnpHex.ToHex(report.AuthorKeyDigest),
            ["report_id"] = SnpHex.ToHex(report.ReportId),
            ["report_id_ma"] = SnpHex.ToHex(report.ReportIdMa),
            ["reported_tcb"] = SnpTcb.Parse(report.ReportedTcb, turinLayout).ToString(),
            ["current_tcb"] = SnpTcb.Parse(report.CurrentTcb, turinLayout).ToString(),
            ["committed_tcb"] = SnpTcb.Parse(report.CommittedTcb, turinLayout).ToString(),
            ["launch_tcb"] = SnpTcb.Parse(report.LaunchTcb, turinLayout).ToString(),
            ["smt_enabled"] = (report.PlatformInfo & 1) != 0 ? "true" : "false",
        };
        if (product is not null)
        {
            extra["product"] = product;
        }

        if (report.Version >= 3)
        {
            extra["cpuid"] = SnpHex.ToHex([report.CpuidFamily, report.CpuidModel, report.CpuidStepping]);
        }

        if (leaf?.ProductName is not null)
        {
            extra["product_name"] = leaf.ProductName;
        }

        if (leaf?.CspId is not null)
        {
            extra["csp_id"] = leaf.CspId;
        }

        if (isHcl)
        {
            extra["azure_hcl"] = "true";
            if (runtimeClaimsHash is not null)
            {
                extra["runtime_claims_hash"] = runtimeClaimsHash;
            }
        }

        return extra;
    }

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
