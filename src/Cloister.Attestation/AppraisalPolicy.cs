namespace Cloister.Attestation;

/// <summary>
/// What an appraisal requires. The defaults are the product's default policy (shared vectors' EXPECTED.md):
/// debug and migration agents forbidden, SMT allowed, highest VMPL 0, SEPT_VE_DISABLE not required,
/// UpToDate TCB affirming and the "needed" statuses warning, no pinned measurement, no maximum age,
/// simulated evidence refused.
/// </summary>
public sealed record AppraisalPolicy
{
    /// <summary>Identifier reported in results.</summary>
    public string Id { get; init; } = "default";

    /// <summary>TEE types accepted. Simulated is accepted only if listed here explicitly.</summary>
    public IReadOnlySet<TeeType> AllowedTees { get; init; } = new HashSet<TeeType> { TeeType.SevSnp, TeeType.Tdx, TeeType.Sgx, TeeType.Nitro };

    /// <summary>Accepted launch measurements (lower-case hex); empty = reported, not judged.</summary>
    public IReadOnlyList<string> Measurements { get; init; } = [];

    /// <summary>Expected TDX RTMRs by index ("rtmr0".."rtmr3") or Nitro PCRs ("pcr0".."pcr8"), lower-case hex.</summary>
    public IReadOnlyDictionary<string, string> ExpectedRegisters { get; init; } = new Dictionary<string, string>();

    public bool AllowDebug { get; init; }

    public bool AllowMigrationAgent { get; init; }

    /// <summary>Highest SNP VMPL accepted.</summary>
    public int MaxVmpl { get; init; }

    public bool AllowSmt { get; init; } = true;

    public bool RequireSeptVeDisable { get; init; }

    /// <summary>Minimum SNP TCB components ("bootloader", "tee", "snp", "microcode", "fmc"); absent = no minimum.</summary>
    public IReadOnlyDictionary<string, int> MinimumTcb { get; init; } = new Dictionary<string, int>();

    /// <summary>TCB statuses that give affirming.</summary>
    public IReadOnlySet<string> AffirmingTcbStatuses { get; init; } = new HashSet<string> { "UpToDate" };

    /// <summary>TCB statuses that give warning (anything else is contraindicated).</summary>
    public IReadOnlySet<string> WarningTcbStatuses { get; init; } = new HashSet<string> { "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded" };

    /// <summary>Maximum age of timestamped evidence (Nitro); null = none.</summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>Expected report data / user data (lower-case hex), or null.</summary>
    public string? ExpectedReportData { get; init; }

    /// <summary>Expected SEV-SNP HOST_DATA (32 bytes, lower-case hex), or null.</summary>
    public string? ExpectedHostData { get; init; }

    /// <summary>Expected nonce (lower-case hex), or null.</summary>
    public string? ExpectedNonce { get; init; }

    /// <summary>Accepted SNP signers: "vcek", "vlek". Default both.</summary>
    public IReadOnlySet<string> AllowedSigners { get; init; } = new HashSet<string> { "vcek", "vlek" };

    /// <summary>Accepted AMD products ("Milan", "Genoa", "Turin"); empty = any.</summary>
    public IReadOnlySet<string> AllowedProducts { get; init; } = new HashSet<string>();
}
