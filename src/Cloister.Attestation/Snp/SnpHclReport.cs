using System.Buffers.Binary;

namespace Cloister.Attestation.Snp;

/// <summary>
/// Azure's vTPM "HCL report" around an SNP report: a 0x20-byte header ("HCLA", version, report size, request type,
/// status, reserved), the 0x4A0-byte hardware report, then the runtime data (data size, version, report type,
/// hash type, claim size, claims JSON). REPORT_DATA[0..hash length) of the SNP report is the hash of the claims JSON,
/// so the JSON (which holds the vTPM attestation key) is bound to the hardware report.
/// </summary>
internal readonly ref struct SnpHclReport
{
    public const int HeaderSize = 0x20;
    public const int RuntimeHeaderSize = 20;

    /// <summary>IGVM report type of the hardware report: 2 = SEV-SNP.</summary>
    public const uint ReportTypeSnp = 2;

    /// <summary>
    /// Upper bound on a whole HCL report. Azure's is about 2.6 KB (header, report, a ~1 KB claims JSON, padding);
    /// the bound keeps hashing of attacker-sized claims cheap.
    /// </summary>
    public const int MaxSize = 64 * 1024;

    private SnpHclReport(ReadOnlySpan<byte> hardwareReport, ReadOnlySpan<byte> claims, uint hashType)
    {
        HardwareReport = hardwareReport;
        Claims = claims;
        HashType = hashType;
    }

    public ReadOnlySpan<byte> HardwareReport { get; }

    public ReadOnlySpan<byte> Claims { get; }

    /// <summary>1 = SHA-256, 2 = SHA-384, 3 = SHA-512.</summary>
    public uint HashType { get; }

    public static bool IsHcl(ReadOnlySpan<byte> raw) => raw.StartsWith("HCLA"u8);

    public static bool TryParse(ReadOnlySpan<byte> raw, out SnpHclReport report, out string? reason)
    {
        report = default;
        const int runtimeOffset = HeaderSize + SnpReport.Size;
        if (!IsHcl(raw))
        {
            reason = "hcl: missing HCLA signature";
            return false;
        }

        if (raw.Length > MaxSize)
        {
            reason = $"size: HCL report of {raw.Length} bytes exceeds the {MaxSize}-byte limit";
            return false;
        }

        if (raw.Length < runtimeOffset + RuntimeHeaderSize)
        {
            reason = $"hcl: {raw.Length} bytes is too short for an HCL report with an SNP report";
            return false;
        }

        var runtime = raw[runtimeOffset..];
        var reportType = BinaryPrimitives.ReadUInt32LittleEndian(runtime[8..]);
        var hashType = BinaryPrimitives.ReadUInt32LittleEndian(runtime[12..]);
        var claimSize = BinaryPrimitives.ReadUInt32LittleEndian(runtime[16..]);
        if (reportType != ReportTypeSnp)
        {
            reason = $"hcl: hardware report type {reportType} is not SEV-SNP (2)";
            return false;
        }

        if (claimSize > (uint)(runtime.Length - RuntimeHeaderSize))
        {
            reason = $"hcl: runtime claims size {claimSize} exceeds the {runtime.Length - RuntimeHeaderSize} bytes present";
            return false;
        }

        report = new SnpHclReport(raw.Slice(HeaderSize, SnpReport.Size), runtime.Slice(RuntimeHeaderSize, (int)claimSize), hashType);
        reason = null;
        return true;
    }
}
