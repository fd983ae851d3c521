using System.Buffers.Binary;

namespace Cloister.Attestation.Snp;

/// <summary>Which key signed a report (SIGNING_KEY bits 2–4 of the signer info at 0x48).</summary>
internal enum SnpSigningKey
{
    Vcek = 0,
    Vlek = 1,
    None = 7,
}

/// <summary>The TCB_VERSION components; the byte layout depends on the generation.</summary>
internal readonly record struct SnpTcb(byte Fmc, byte BootLoader, byte Tee, byte Snp, byte Microcode, bool TurinLayout)
{
    public static SnpTcb Parse(ReadOnlySpan<byte> raw, bool turinLayout)
        => turinLayout
            ? new SnpTcb(raw[0], raw[1], raw[2], raw[3], raw[7], true)
            : new SnpTcb(0, raw[0], raw[1], raw[6], raw[7], false);

    public override string ToString()
        => TurinLayout
            ? $"fmc={Fmc} bl={BootLoader} tee={Tee} snp={Snp} ucode={Microcode}"
            : $"bl={BootLoader} tee={Tee} snp={Snp} ucode={Microcode}";
}

/// <summary>
/// A view over a 0x4A0-byte SEV-SNP ATTESTATION_REPORT (AMD ABI spec #56860; layout in the shared reference doc §1).
/// It never copies the report: every field is a slice of the caller's memory.
/// </summary>
internal readonly ref struct SnpReport
{
    public const int Size = 0x4A0;
    public const int SignedLength = 0x2A0;
    public const int SignatureROffset = 0x2A0;
    public const int SignatureSOffset = 0x2E8;
    public const int SignatureComponentLength = 72;
    public const int P384ComponentLength = 48;

    public const ulong PolicySmt = 1UL << 16;
    public const ulong PolicyReservedOne = 1UL << 17;
    public const ulong PolicyMigrateMa = 1UL << 18;
    public const ulong PolicyDebug = 1UL << 19;
    public const ulong PolicyMbzMask = ~((1UL << 26) - 1);

    // "Must be zero" byte ranges per version: v2 has no CPUID bytes (0x188.. reserved as a whole); the mitigation
    // vectors at 0x1F8 exist from v5.
    private static readonly (int Start, int End, string Name)[] ReservedV2 = ReservedRanges(0x188, 0x208);
    private static readonly (int Start, int End, string Name)[] ReservedV3 = ReservedRanges(0x18B, 0x208);
    private static readonly (int Start, int End, string Name)[] ReservedV5 = ReservedRanges(0x18B, 0x1F8);

    private readonly ReadOnlySpan<byte> _raw;

    private SnpReport(ReadOnlySpan<byte> raw) => _raw = raw;

    public ReadOnlySpan<byte> Raw => _raw;

    public uint Version => BinaryPrimitives.ReadUInt32LittleEndian(_raw);

    public uint GuestSvn => BinaryPrimitives.ReadUInt32LittleEndian(_raw[0x4..]);

    public ulong Policy => BinaryPrimitives.ReadUInt64LittleEndian(_raw[0x8..]);

    public ReadOnlySpan<byte> FamilyId => _raw.Slice(0x10, 16);

    public ReadOnlySpan<byte> ImageId => _raw.Slice(0x20, 16);

    public uint Vmpl => BinaryPrimitives.ReadUInt32LittleEndian(_raw[0x30..]);

    public uint SignatureAlgorithm => BinaryPrimitives.ReadUInt32LittleEndian(_raw[0x34..]);

    public ReadOnlySpan<byte> CurrentTcb => _raw.Slice(0x38, 8);

    public ulong PlatformInfo => BinaryPrimitives.ReadUInt64LittleEndian(_raw[0x40..]);

    public uint SignerInfo => BinaryPrimitives.ReadUInt32LittleEndian(_raw[0x48..]);

    public bool AuthorKeyEnabled => (SignerInfo & 1) != 0;

    public bool MaskChipKey => (SignerInfo & 2) != 0;

    public SnpSigningKey SigningKey => (SnpSigningKey)((SignerInfo >> 2) & 7);

    public ReadOnlySpan<byte> ReportData => _raw.Slice(0x50, 64);

    public ReadOnlySpan<byte> Measurement => _raw.Slice(0x90, 48);

    public ReadOnlySpan<byte> HostData => _raw.Slice(0xC0, 32);

    public ReadOnlySpan<byte> IdKeyDigest => _raw.Slice(0xE0, 48);

    public ReadOnlySpan<byte> AuthorKeyDigest => _raw.Slice(0x110, 48);

    public ReadOnlySpan<byte> ReportId => _raw.Slice(0x140, 32);

    public ReadOnlySpan<byte> ReportIdMa => _raw.Slice(0x160, 32);

    public ReadOnlySpan<byte> ReportedTcb => _raw.Slice(0x180, 8);

    /// <summary>CPUID family, model and stepping (v3+; zero in v2).</summary>
    public byte CpuidFamily => _raw[0x188];

    public byte CpuidModel => _raw[0x189];

    public byte CpuidStepping => _raw[0x18A];

    public ReadOnlySpan<byte> ChipId => _raw.Slice(0x1A0, 64);

    public ReadOnlySpan<byte> CommittedTcb => _raw.Slice(0x1E0, 8);

    public ReadOnlySpan<byte> CurrentVersion => _raw.Slice(0x1E8, 3);

    public ReadOnlySpan<byte> CommittedVersion => _raw.Slice(0x1EC, 3);

    public ReadOnlySpan<byte> LaunchTcb => _raw.Slice(0x1F0, 8);

    public ulong LaunchMitigationVector => BinaryPrimitives.ReadUInt64LittleEndian(_raw[0x1F8..]);

    public ulong CurrentMitigationVector => BinaryPrimitives.ReadUInt64LittleEndian(_raw[0x200..]);

    public ReadOnlySpan<byte> SignedBytes => _raw[..SignedLength];

    public ReadOnlySpan<byte> SignatureR => _raw.Slice(SignatureROffset, SignatureComponentLength);

    public ReadOnlySpan<byte> SignatureS => _raw.Slice(SignatureSOffset, SignatureComponentLength);

    public static bool IsSupportedVersion(uint version) => version is >= 2 and <= 5;

    /// <summary>Accepts exactly 0x4A0 bytes of a known version; otherwise gives the parse reason.</summary>
    public static bool TryParse(ReadOnlySpan<byte> raw, out SnpReport report, out string? reason)
    {
        report = default;
        if (raw.Length != Size)
        {
            reason = $"size: report is {raw.Length} bytes, expected exactly {Size} (0x4A0)";
            return false;
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(raw);
        if (!IsSupportedVersion(version))
        {
            reason = $"version: unknown report version {version} (supported: 2, 3, 4, 5)";
            return false;
        }

        report = new SnpReport(raw);
        reason = null;
        return true;
    }

    /// <summary>
    /// The generation's TCB layout: by CPUID family for v3+ (0x1A = Turin and later), else by the certificate's product
    /// (v2 reports carry no CPUID).
    /// </summary>
    public bool UsesTurinLayout(string? product)
    {
        if (Version >= 3 && CpuidFamily != 0)
        {
            return CpuidFamily >= 0x1A;
        }

        return string.Equals(product, "Turin", StringComparison.Ordinal);
    }

    /// <summary>The product the CPUID bytes name (v3+), or null when they do not say.</summary>
    public string? CpuidProduct()
    {
        if (Version < 3 || CpuidFamily == 0)
        {
            return null;
        }

        return CpuidFamily switch
        {
            0x19 when CpuidModel < 0x10 => "Milan",
            0x19 => "Genoa",
            0x1A => "Turin",
            _ => null,
        };
    }

    /// <summary>Every "must be zero" field and reserved bit; returns the first offender's description, or null.</summary>
    public string? FindNonZeroReserved()
    {
        if ((Policy & PolicyMbzMask) != 0)
        {
            return "policy bits 26-63 must be zero";
        }

        if ((Policy & PolicyReservedOne) == 0)
        {
            return "policy bit 17 must be one";
        }

        if ((SignerInfo & ~0x1Fu) != 0)
        {
            return "signer info bits 5-31 must be zero";
        }

        var ranges = Version switch
        {
            2 => ReservedV2,
            < 5 => ReservedV3,
            _ => ReservedV5,
        };
        foreach (var (start, end, name) in ranges)
        {
            if (_raw[start..end].ContainsAnyExcept((byte)0))
            {
                return $"reserved bytes at {name} must be zero";
            }
        }

        return null;
    }

    private static (int Start, int End, string Name)[] ReservedRanges(int cpuidEnd, int mitigationEnd) =>
    [
        (0x04C, 0x050, "0x04C"),
        (cpuidEnd, 0x1A0, cpuidEnd == 0x188 ? "0x188" : "0x18B"),
        (0x1EB, 0x1EC, "0x1EB"),
        (0x1EF, 0x1F0, "0x1EF"),
        (0x1F8, mitigationEnd, "0x1F8 (mitigation vectors before v5)"),
        (0x208, 0x2A0, "0x208"),
        (SignatureROffset + P384ComponentLength, SignatureSOffset, "signature R high bytes"),
        (SignatureSOffset + P384ComponentLength, 0x330, "signature S high bytes"),
        (0x330, Size, "0x330"),
    ];

    /// <summary>R‖S big-endian (IEEE P1363) from the little-endian, zero-extended fields.</summary>
    public void WriteP1363Signature(Span<byte> destination)
    {
        var r = destination[..P384ComponentLength];
        var s = destination.Slice(P384ComponentLength, P384ComponentLength);
        SignatureR[..P384ComponentLength].CopyTo(r);
        SignatureS[..P384ComponentLength].CopyTo(s);
        r.Reverse();
        s.Reverse();
    }
}
