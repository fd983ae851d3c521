using System.Buffers.Binary;

namespace Cloister.Attestation.Tdx;

/// <summary>Which report a DCAP quote carries.</summary>
internal enum DcapBodyKind
{
    /// <summary>SGX enclave report (384 bytes), quote v3.</summary>
    SgxEnclave,

    /// <summary>TD report TD1.0 (584 bytes), quote v4 or v5 body type 2.</summary>
    Td10,

    /// <summary>TD report TD1.5 (648 bytes), quote v5 body type 3.</summary>
    Td15,
}

/// <summary>The 384-byte SGX REPORT body (the enclave in an SGX quote, and the QE report in every quote).</summary>
internal sealed class DcapEnclaveReport
{
    public const int Size = 384;

    private DcapEnclaveReport(byte[] raw) => Raw = raw;

    public byte[] Raw { get; }

    public ReadOnlySpan<byte> CpuSvn => Raw.AsSpan(0, 16);

    public uint MiscSelect => BinaryPrimitives.ReadUInt32LittleEndian(Raw.AsSpan(16, 4));

    public ReadOnlySpan<byte> Attributes => Raw.AsSpan(48, 16);

    public bool Debug => (Raw[48] & 0x02) != 0;

    public ReadOnlySpan<byte> MrEnclave => Raw.AsSpan(64, 32);

    public ReadOnlySpan<byte> MrSigner => Raw.AsSpan(128, 32);

    public ushort IsvProdId => BinaryPrimitives.ReadUInt16LittleEndian(Raw.AsSpan(256, 2));

    public ushort IsvSvn => BinaryPrimitives.ReadUInt16LittleEndian(Raw.AsSpan(258, 2));

    public ReadOnlySpan<byte> ReportData => Raw.AsSpan(320, 64);

    public static DcapEnclaveReport From(ReadOnlySpan<byte> bytes) => new(bytes[..Size].ToArray());

    /// <summary>The SGX REPORT reserved ranges (20..32, 96..128, 160..192, 262..304) must be zero.</summary>
    public static bool ReservedAreZero(ReadOnlySpan<byte> report)
        => !report[20..32].ContainsAnyExcept((byte)0) && !report[96..128].ContainsAnyExcept((byte)0)
            && !report[160..192].ContainsAnyExcept((byte)0) && !report[262..304].ContainsAnyExcept((byte)0);
}

/// <summary>
/// A parsed Intel DCAP quote: SGX v3, TDX v4 and v5 (TD1.0 and TD1.5 bodies), ECDSA-P256 attestation key,
/// certification data type 6 (QE report) wrapping type 5 (PCK chain, PEM). Bytes after the signature data are
/// tolerated (quotes are often padded) and counted in <see cref="TrailingBytes"/>.
/// </summary>
internal sealed class DcapQuote
{
    /// <summary>The largest quote accepted; real quotes are about 5 KB, so this only bounds work on hostile input.</summary>
    public const int MaxQuoteBytes = 64 * 1024;

    public const int HeaderSize = 48;
    public const int Td10BodySize = 584;
    public const int Td15BodySize = 648;
    public const uint TeeTypeSgx = 0x00;
    public const uint TeeTypeTdx = 0x81;

    private static readonly byte[] IntelQeVendorId = Convert.FromHexString("939A7233F79C4CA9940A0DB3957F0607");

    private DcapQuote()
    {
    }

    public int Version { get; private init; }

    public uint TeeType { get; private init; }

    public DcapBodyKind Kind { get; private init; }

    /// <summary>Header + (v5 descriptor) + body: the bytes the attestation key signs.</summary>
    public byte[] SignedRegion { get; private init; } = [];

    /// <summary>The report body alone (384, 584 or 648 bytes).</summary>
    public byte[] Body { get; private init; } = [];

    public byte[] QuoteSignature { get; private init; } = [];

    /// <summary>Raw P-256 public key X‖Y.</summary>
    public byte[] AttestationKey { get; private init; } = [];

    public DcapEnclaveReport QeReport { get; private init; } = null!;

    public byte[] QeReportSignature { get; private init; } = [];

    public byte[] QeAuthData { get; private init; } = [];

    /// <summary>The PCK chain certification data (PEM, possibly NUL-padded).</summary>
    public byte[] PckChainData { get; private init; } = [];

    public int TrailingBytes { get; private init; }

    // TD report fields (TDX only).
    public ReadOnlySpan<byte> TeeTcbSvn => Body.AsSpan(0, 16);

    public ReadOnlySpan<byte> MrSeam => Body.AsSpan(16, 48);

    public ReadOnlySpan<byte> MrSignerSeam => Body.AsSpan(64, 48);

    public ReadOnlySpan<byte> SeamAttributes => Body.AsSpan(112, 8);

    public ulong TdAttributes => BinaryPrimitives.ReadUInt64LittleEndian(Body.AsSpan(120, 8));

    public ReadOnlySpan<byte> Xfam => Body.AsSpan(128, 8);

    public ReadOnlySpan<byte> MrTd => Body.AsSpan(136, 48);

    public ReadOnlySpan<byte> MrConfigId => Body.AsSpan(184, 48);

    public ReadOnlySpan<byte> MrOwner => Body.AsSpan(232, 48);

    public ReadOnlySpan<byte> MrOwnerConfig => Body.AsSpan(280, 48);

    public ReadOnlySpan<byte> Rtmr(int index) => Body.AsSpan(328 + (48 * index), 48);

    public ReadOnlySpan<byte> TdReportData => Body.AsSpan(520, 64);

    public ReadOnlySpan<byte> TeeTcbSvn2 => Kind == DcapBodyKind.Td15 ? Body.AsSpan(584, 16) : [];

    public ReadOnlySpan<byte> MrServiceTd => Kind == DcapBodyKind.Td15 ? Body.AsSpan(600, 48) : [];

    /// <summary>The enclave report of an SGX quote.</summary>
    public DcapEnclaveReport? Enclave { get; private init; }

    /// <summary>Parses <paramref name="data"/>; on failure returns false and a reason ("quote-structure: ...").</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out DcapQuote? quote, out string error)
    {
        quote = null;
        if (data.Length > MaxQuoteBytes)
        {
            error = $"quote-structure: {data.Length} bytes exceeds the {MaxQuoteBytes}-byte limit";
            return false;
        }

        if (data.Length < HeaderSize)
        {
            error = $"quote-structure: {data.Length} bytes is shorter than the 48-byte header";
            return false;
        }

        int version = BinaryPrimitives.ReadUInt16LittleEndian(data);
        ushort attKeyType = BinaryPrimitives.ReadUInt16LittleEndian(data[2..]);
        uint teeType = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (attKeyType != 2)
        {
            error = $"quote-structure: attestation key type {attKeyType} is not 2 (ECDSA P-256)";
            return false;
        }

        if (!data.Slice(12, 16).SequenceEqual(IntelQeVendorId))
        {
            error = "quote-structure: QE vendor id is not Intel's";
            return false;
        }

        DcapBodyKind kind;
        int bodyOffset;
        int bodySize;
        switch (version)
        {
            case 3 when teeType == TeeTypeSgx:
                kind = DcapBodyKind.SgxEnclave;
                bodyOffset = HeaderSize;
                bodySize = DcapEnclaveReport.Size;
                break;
            case 4 when teeType == TeeTypeTdx:
                kind = DcapBodyKind.Td10;
                bodyOffset = HeaderSize;
                bodySize = Td10BodySize;
                break;
            case 5 when teeType == TeeTypeTdx:
                if (data.Length < HeaderSize + 6)
                {
                    error = "quote-structure: truncated v5 body descriptor";
                    return false;
                }

                ushort bodyType = BinaryPrimitives.ReadUInt16LittleEndian(data[HeaderSize..]);
                uint declared = BinaryPrimitives.ReadUInt32LittleEndian(data[(HeaderSize + 2)..]);
                (kind, bodySize) = bodyType switch
                {
                    2 => (DcapBodyKind.Td10, Td10BodySize),
                    3 => (DcapBodyKind.Td15, Td15BodySize),
                    _ => (DcapBodyKind.SgxEnclave, -1),
                };
                if (bodySize < 0)
                {
                    error = $"quote-structure: v5 body type {bodyType} is not a TD report (2 or 3)";
                    return false;
                }

                if (declared != (uint)bodySize)
                {
                    error = $"quote-structure: v5 body size {declared} does not match body type {bodyType} ({bodySize})";
                    return false;
                }

                bodyOffset = HeaderSize + 6;
                break;
            default:
                error = $"quote-structure: unsupported quote version {version} with TEE type 0x{teeType:x2}";
                return false;
        }

        int signedLength = bodyOffset + bodySize;
        if (data.Length < signedLength + 4)
        {
            error = $"quote-structure: truncated ({data.Length} bytes, body needs {signedLength + 4})";
            return false;
        }

        uint sigDataLength = BinaryPrimitives.ReadUInt32LittleEndian(data[signedLength..]);
        int sigStart = signedLength + 4;
        if (sigDataLength > (uint)(data.Length - sigStart))
        {
            error = $"quote-structure: signature data length {sigDataLength} runs past the end ({data.Length - sigStart} bytes left)";
            return false;
        }

        var sig = data.Slice(sigStart, (int)sigDataLength);
        var reader = new DcapSpanReader(sig);
        if (!reader.TryTake(64, out var quoteSignature) || !reader.TryTake(64, out var attestationKey))
        {
            error = "quote-structure: signature data too short for the signature and attestation key";
            return false;
        }

        ReadOnlySpan<byte> qeCert;
        if (version == 3)
        {
            qeCert = sig[128..];
        }
        else
        {
            if (!reader.TryU16(out ushort certType) || !reader.TryU32(out uint certSize))
            {
                error = "quote-structure: truncated certification data header";
                return false;
            }

            if (certType != 6)
            {
                error = $"quote-structure: certification data type {certType} is not 6 (QE report)";
                return false;
            }

            if (!reader.TryTake(certSize, out qeCert))
            {
                error = $"quote-structure: certification data size {certSize} runs past the signature data";
                return false;
            }
        }

        var inner = new DcapSpanReader(qeCert);
        if (!inner.TryTake(DcapEnclaveReport.Size, out var qeReport) || !inner.TryTake(64, out var qeReportSignature)
            || !inner.TryU16(out ushort authSize) || !inner.TryTake(authSize, out var authData))
        {
            error = "quote-structure: truncated QE report certification data";
            return false;
        }

        if (!inner.TryU16(out ushort pckType) || !inner.TryU32(out uint pckSize))
        {
            error = "quote-structure: truncated PCK certification data header";
            return false;
        }

        if (pckType != 5)
        {
            error = $"quote-structure: PCK certification data type {pckType} is not 5 (PEM chain)";
            return false;
        }

        if (!inner.TryTake(pckSize, out var pckChain))
        {
            error = $"quote-structure: PCK chain size {pckSize} runs past the certification data";
            return false;
        }

        if (!DcapEnclaveReport.ReservedAreZero(qeReport))
        {
            error = "quote-structure: reserved bytes of the QE report are not zero";
            return false;
        }

        if (kind == DcapBodyKind.SgxEnclave && !DcapEnclaveReport.ReservedAreZero(data.Slice(bodyOffset, bodySize)))
        {
            error = "quote-structure: reserved bytes of the enclave report are not zero";
            return false;
        }

        var body = data.Slice(bodyOffset, bodySize).ToArray();
        quote = new DcapQuote
        {
            Version = version,
            TeeType = teeType,
            Kind = kind,
            SignedRegion = data[..signedLength].ToArray(),
            Body = body,
            QuoteSignature = quoteSignature.ToArray(),
            AttestationKey = attestationKey.ToArray(),
            QeReport = DcapEnclaveReport.From(qeReport),
            QeReportSignature = qeReportSignature.ToArray(),
            QeAuthData = authData.ToArray(),
            PckChainData = pckChain.ToArray(),
            TrailingBytes = data.Length - sigStart - (int)sigDataLength,
            Enclave = kind == DcapBodyKind.SgxEnclave ? DcapEnclaveReport.From(body) : null,
        };
        error = "";
        return true;
    }
}

/// <summary>A bounds-checked little-endian reader over untrusted bytes.</summary>
internal ref struct DcapSpanReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public bool TryTake(uint count, out ReadOnlySpan<byte> taken)
    {
        if (count > (uint)(_data.Length - _position))
        {
            taken = default;
            return false;
        }

        taken = _data.Slice(_position, (int)count);
        _position += (int)count;
        return true;
    }

    public bool TryTake(int count, out ReadOnlySpan<byte> taken) => TryTake((uint)count, out taken);

    public bool TryU16(out ushort value)
    {
        value = 0;
        if (!TryTake(2, out var s))
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt16LittleEndian(s);
        return true;
    }

    public bool TryU32(out uint value)
    {
        value = 0;
        if (!TryTake(4, out var s))
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt32LittleEndian(s);
        return true;
    }
}
