using System.Diagnostics.CodeAnalysis;

namespace Cloister.Attestation.Policy;

/// <summary>
/// The stable text names of <see cref="TeeType"/> used in policies, results and on the command line:
/// "sev-snp", "tdx", "sgx", "nitro", "simulated".
/// </summary>
public static class TeeNames
{
    /// <summary>Every name, in <see cref="TeeType"/> order.</summary>
    public static IReadOnlyList<string> All { get; } = ["sev-snp", "tdx", "sgx", "nitro", "simulated"];

    /// <summary>The name of <paramref name="type"/>.</summary>
    public static string ToName(TeeType type) => type switch
    {
        TeeType.SevSnp => "sev-snp",
        TeeType.Tdx => "tdx",
        TeeType.Sgx => "sgx",
        TeeType.Nitro => "nitro",
        TeeType.Simulated => "simulated",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown TEE type"),
    };

    /// <summary>Parses an exact (lower-case) name; anything else is false.</summary>
    public static bool TryParse([NotNullWhen(true)] string? name, out TeeType type)
    {
        switch (name)
        {
            case "sev-snp": type = TeeType.SevSnp; return true;
            case "tdx": type = TeeType.Tdx; return true;
            case "sgx": type = TeeType.Sgx; return true;
            case "nitro": type = TeeType.Nitro; return true;
            case "simulated": type = TeeType.Simulated; return true;
            default: type = default; return false;
        }
    }
}
