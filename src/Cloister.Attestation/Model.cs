namespace Cloister.Attestation;

/// <summary>Kinds of trusted execution environment evidence.</summary>
public enum TeeType
{
    SevSnp,
    Tdx,
    Sgx,
    Nitro,
    Simulated,
}

/// <summary>The overall appraisal, with the IETF RATS EAR meaning.</summary>
public enum Verdict
{
    /// <summary>Every check that applies passed.</summary>
    Affirming,

    /// <summary>Nothing contradicts trust, but something could not be established or needs attention (e.g. TCB not evaluated).</summary>
    Warning,

    /// <summary>At least one check failed: do not trust this environment.</summary>
    Contraindicated,
}

/// <summary>What happened to one check.</summary>
public enum CheckStatus
{
    Pass,
    Fail,
    NotEvaluated,
}

/// <summary>
/// One check of an appraisal. <paramref name="Impact"/> is the verdict this check imposes on the whole
/// (<see cref="Verdict.Affirming"/> when it passed or does not matter); the overall verdict is the worst impact.
/// </summary>
/// <param name="Name">Stable check name, e.g. "report-signature", "vcek-chain", "debug", "tcb-status".</param>
/// <param name="Status">Pass, fail or not evaluated.</param>
/// <param name="Reason">Stable reason code with a short human detail, e.g. "debug: policy bit 19 is set".</param>
/// <param name="Impact">The verdict this check imposes.</param>
public sealed record Check(string Name, CheckStatus Status, string? Reason, Verdict Impact)
{
    public static Check Pass(string name, string? reason = null) => new(name, CheckStatus.Pass, reason, Verdict.Affirming);

    public static Check Fail(string name, string reason) => new(name, CheckStatus.Fail, reason, Verdict.Contraindicated);

    /// <summary>A failed check that only warns (e.g. TCB status SWHardeningNeeded).</summary>
    public static Check Warn(string name, string reason) => new(name, CheckStatus.Fail, reason, Verdict.Warning);

    /// <summary>A check that could not be made; <paramref name="impact"/> says whether that matters.</summary>
    public static Check NotEvaluated(string name, string reason, Verdict impact = Verdict.Affirming) => new(name, CheckStatus.NotEvaluated, reason, impact);
}

/// <summary>Evidence to verify: the bytes, any certificates (DER or PEM) and optional collateral (JSON).</summary>
/// <param name="Type">The kind of evidence.</param>
/// <param name="Bytes">The report, quote or document.</param>
/// <param name="Certificates">Certificates given beside the evidence (VCEK/VLEK, chains), DER or PEM, in any order.</param>
/// <param name="Collateral">TDX/SGX collateral: the JSON bundle the vectors use (TCB info, QE identity, CRLs, chains), or null.</param>
public sealed record EvidenceBundle(TeeType Type, byte[] Bytes, IReadOnlyList<byte[]> Certificates, IReadOnlyList<byte[]>? Collateral = null);

/// <summary>Normalized claims of an appraisal (what a relying party needs), whatever the TEE.</summary>
public sealed record AttestationClaims
{
    public required TeeType Tee { get; init; }

    /// <summary>The launch measurement, lower-case hex (SNP MEASUREMENT, TDX MRTD, SGX MRENCLAVE, Nitro PCR0).</summary>
    public string? Measurement { get; init; }

    /// <summary>Whether the environment runs in debug mode (null when unknown).</summary>
    public bool? Debug { get; init; }

    /// <summary>The TCB as the TEE reports it (e.g. SNP "bl=3 tee=0 snp=8 ucode=115", TDX TCB SVNs hex).</summary>
    public string? Tcb { get; init; }

    /// <summary>TCB status from collateral (UpToDate, SWHardeningNeeded, ...), null when not evaluated.</summary>
    public string? TcbStatus { get; init; }

    /// <summary>Intel advisory ids attached to the matched TCB level.</summary>
    public IReadOnlyList<string> AdvisoryIds { get; init; } = [];

    /// <summary>Report data / user data bound by the evidence, lower-case hex.</summary>
    public string? ReportData { get; init; }

    /// <summary>The nonce bound by the evidence (Nitro), lower-case hex.</summary>
    public string? Nonce { get; init; }

    /// <summary>Evidence time (Nitro timestamp), when the evidence carries one.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary>Other measurements by name (e.g. "pcr1", "rtmr0", "host_data", "signer": "vcek").</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();
}

/// <summary>The appraisal: a verdict, normalized claims and every check made. Never an exception for bad evidence.</summary>
public sealed record AttestationResult(Verdict Verdict, AttestationClaims Claims, IReadOnlyList<Check> Checks)
{
    /// <summary>Builds a result whose verdict is the worst impact among <paramref name="checks"/>.</summary>
    public static AttestationResult From(AttestationClaims claims, IReadOnlyList<Check> checks)
        => new(checks.Count == 0 ? Verdict.Contraindicated : checks.Max(c => c.Impact), claims, checks);

    /// <summary>A result for evidence that could not even be parsed.</summary>
    public static AttestationResult Unreadable(TeeType tee, string check, string reason)
        => From(new AttestationClaims { Tee = tee }, [Check.Fail(check, reason)]);
}

/// <summary>A verifier for one kind of evidence. Implementations never throw for untrusted input.</summary>
public interface IEvidenceVerifier
{
    TeeType Type { get; }

    /// <summary>Appraises <paramref name="evidence"/> against <paramref name="policy"/> at time <paramref name="at"/>.</summary>
    AttestationResult Verify(EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at);
}
