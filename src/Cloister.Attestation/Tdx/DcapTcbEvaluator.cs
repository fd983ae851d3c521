using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;

namespace Cloister.Attestation.Tdx;

/// <summary>The TCB status a tcbInfo and QE identity give a quote, with the advisory ids of the matched levels.</summary>
internal sealed record DcapTcbOutcome(string? Status, IReadOnlyList<string> AdvisoryIds, string Detail);

/// <summary>
/// TCB level matching as Intel's QVL, go-tdx-guest and dcap-qvl do it: FMSPC and PCE-ID must match the PCK, the
/// first level whose SGX components, PCESVN and (TDX) TEE_TCB_SVN are all at least the level's gives the platform
/// status; the TDX module identity and the QE identity level are merged in (the worst status wins).
/// </summary>
internal static class DcapTcbEvaluator
{
    private static readonly string[] StatusOrder =
    [
        "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
        "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked",
    ];

    /// <summary>Reads issueDate/nextUpdate and id of a signed collateral JSON.</summary>
    public static bool TryReadHeader(JsonElement root, out string id, out DateTimeOffset issueDate, out DateTimeOffset nextUpdate)
    {
        id = "";
        issueDate = default;
        nextUpdate = default;
        return root.ValueKind == JsonValueKind.Object
            && TryGetString(root, "id", out id)
            && TryGetDate(root, "issueDate", out issueDate)
            && TryGetDate(root, "nextUpdate", out nextUpdate);
    }

    public static DcapTcbOutcome EvaluatePlatform(JsonElement tcbInfo, DcapQuote quote, DcapPckExtension pck)
    {
        if (!TryGetString(tcbInfo, "fmspc", out var fmspc) || !DcapCollateral.TryHex(fmspc, out var fmspcBytes)
            || !fmspcBytes.AsSpan().SequenceEqual(pck.Fmspc))
        {
            return new(null, [], $"tcb-status: FMSPC {fmspc} of the TCB info is not the PCK's {Convert.ToHexString(pck.Fmspc)}");
        }

        if (!TryGetString(tcbInfo, "pceId", out var pceId) || !DcapCollateral.TryHex(pceId, out var pceIdBytes)
            || !pceIdBytes.AsSpan().SequenceEqual(pck.PceId))
        {
            return new(null, [], $"tcb-status: PCE-ID {pceId} of the TCB info is not the PCK's {Convert.ToHexString(pck.PceId)}");
        }

        if (!tcbInfo.TryGetProperty("tcbLevels", out var levels) || levels.ValueKind != JsonValueKind.Array)
        {
            return new(null, [], "tcb-status: TCB info has no tcbLevels");
        }

        bool tdx = quote.TeeType == DcapQuote.TeeTypeTdx;
        var teeTcbSvn = tdx ? quote.TeeTcbSvn.ToArray() : [];

        // With a TDX module major version above 0, its SVN is judged by tdxModuleIdentities, not by the levels.
        int tdxStart = tdx && teeTcbSvn[1] > 0 ? 2 : 0;
        foreach (var level in levels.EnumerateArray())
        {
            if (!level.TryGetProperty("tcb", out var tcb) || tcb.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            if (!TryComponents(tcb, "sgxtcbcomponents", out var sgx) || !TryGetInt(tcb, "pcesvn", out int pcesvn))
            {
                continue;
            }

            bool match = pck.PceSvn >= pcesvn;
            for (int i = 0; i < 16 && match; i++)
            {
                match = pck.CpuSvnComponents[i] >= sgx[i];
            }

            if (match && tdx)
            {
                if (!TryComponents(tcb, "tdxtcbcomponents", out var tdxComponents))
                {
                    continue;
                }

                for (int i = tdxStart; i < 16 && match; i++)
                {
                    match = teeTcbSvn[i] >= tdxComponents[i];
                }
            }

            if (!match)
            {
                continue;
            }

            string status = TryGetString(level, "tcbStatus", out var s) ? s : "";
            var advisories = ReadAdvisories(level);
            string detail = $"platform level {status}";
            if (tdx && teeTcbSvn[1] > 0)
            {
                var module = EvaluateTdxModule(tcbInfo, quote, teeTcbSvn);
                if (module.Status is null)
                {
                    return module;
                }

                status = Worst(status, module.Status);
                advisories = [.. advisories.Union(module.AdvisoryIds, StringComparer.Ordinal)];
                detail += $", {module.Detail}";
            }

            return new(status, advisories, detail);
        }

        return new(null, [], "tcb-status: no matching TCB level");
    }

    private static DcapTcbOutcome EvaluateTdxModule(JsonElement tcbInfo, DcapQuote quote, byte[] teeTcbSvn)
    {
        string id = $"TDX_{teeTcbSvn[1]:X2}";
        if (!tcbInfo.TryGetProperty("tdxModuleIdentities", out var identities) || identities.ValueKind != JsonValueKind.Array)
        {
            return new(null, [], "tcb-status: TCB info has no tdxModuleIdentities");
        }

        foreach (var identity in identities.EnumerateArray())
        {
            if (!TryGetString(identity, "id", out var candidate) || !string.Equals(candidate, id, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!TryHexProperty(identity, "mrsigner", out var mrsigner) || !mrsigner.AsSpan().SequenceEqual(quote.MrSignerSeam))
            {
                return new(null, [], $"tcb-status: MRSIGNERSEAM does not match TDX module identity {id}");
            }

            if (!TryHexProperty(identity, "attributes", out var attributes) || !TryHexProperty(identity, "attributesMask", out var mask)
                || attributes.Length != 8 || mask.Length != 8 || !MaskedEqual(quote.SeamAttributes, attributes, mask))
            {
                return new(null, [], $"tcb-status: SEAMATTRIBUTES do not match TDX module identity {id}");
            }

            if (identity.TryGetProperty("tcbLevels", out var levels) && levels.ValueKind == JsonValueKind.Array)
            {
                foreach (var level in levels.EnumerateArray())
                {
                    if (level.TryGetProperty("tcb", out var tcb) && TryGetInt(tcb, "isvsvn", out int isvsvn) && teeTcbSvn[0] >= isvsvn)
                    {
                        string status = TryGetString(level, "tcbStatus", out var s) ? s : "";
                        return new(status, ReadAdvisories(level), $"TDX module {id} {status}");
                    }
                }
            }

            return new(null, [], $"tcb-status: no matching level for TDX module {id} SVN {teeTcbSvn[0]}");
        }

        return new(null, [], $"tcb-status: no TDX module identity {id}");
    }

    /// <summary>Checks the QE report against a QE identity; Status null and a reason when it does not match.</summary>
    public static DcapTcbOutcome EvaluateQe(JsonElement identity, DcapEnclaveReport qe)
    {
        if (!TryHexProperty(identity, "mrsigner", out var mrsigner) || !mrsigner.AsSpan().SequenceEqual(qe.MrSigner))
        {
            return new(null, [], "collateral: QE MRSIGNER does not match the QE identity");
        }

        if (!TryGetInt(identity, "isvprodid", out int prodId) || prodId != qe.IsvProdId)
        {
            return new(null, [], "collateral: QE ISVPRODID does not match the QE identity");
        }

        if (!TryHexProperty(identity, "miscselect", out var misc) || !TryHexProperty(identity, "miscselectMask", out var miscMask)
            || misc.Length != 4 || miscMask.Length != 4
            || (BinaryPrimitives.ReadUInt32BigEndian(misc) & BinaryPrimitives.ReadUInt32BigEndian(miscMask)) != (qe.MiscSelect & BinaryPrimitives.ReadUInt32BigEndian(miscMask)))
        {
            return new(null, [], "collateral: QE MISCSELECT does not match the QE identity");
        }

        if (!TryHexProperty(identity, "attributes", out var attributes) || !TryHexProperty(identity, "attributesMask", out var mask)
            || attributes.Length != 16 || mask.Length != 16 || !MaskedEqual(qe.Attributes, attributes, mask))
        {
            return new(null, [], "collateral: QE ATTRIBUTES do not match the QE identity");
        }

        if (identity.TryGetProperty("tcbLevels", out var levels) && levels.ValueKind == JsonValueKind.Array)
        {
            foreach (var level in levels.EnumerateArray())
            {
                if (level.TryGetProperty("tcb", out var tcb) && TryGetInt(tcb, "isvsvn", out int isvsvn) && qe.IsvSvn >= isvsvn)
                {
                    string status = TryGetString(level, "tcbStatus", out var s) ? s : "";
                    return new(status, ReadAdvisories(level), $"QE {status}");
                }
            }
        }

        return new(null, [], $"tcb-status: no QE identity level for QE ISVSVN {qe.IsvSvn}");
    }

    public static string Worst(string a, string b)
    {
        int ra = Array.IndexOf(StatusOrder, a);
        int rb = Array.IndexOf(StatusOrder, b);
        ra = ra < 0 ? int.MaxValue : ra;
        rb = rb < 0 ? int.MaxValue : rb;
        return rb > ra ? b : a;
    }

    private static bool MaskedEqual(ReadOnlySpan<byte> actual, byte[] expected, byte[] mask)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if ((actual[i] & mask[i]) != (expected[i] & mask[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static List<string> ReadAdvisories(JsonElement level)
    {
        var result = new List<string>();
        if (level.TryGetProperty("advisoryIDs", out var ids) && ids.ValueKind == JsonValueKind.Array)
        {
            foreach (var id in ids.EnumerateArray())
            {
                if (id.ValueKind == JsonValueKind.String)
                {
                    result.Add(id.GetString()!);
                }
            }
        }

        return result;
    }

    private static bool TryComponents(JsonElement tcb, string name, out int[] svns)
    {
        svns = new int[16];
        if (tcb.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array)
        {
            if (array.GetArrayLength() != 16)
            {
                return false;
            }

            int i = 0;
            foreach (var component in array.EnumerateArray())
            {
                if (!TryGetInt(component, "svn", out svns[i++]))
                {
                    return false;
                }
            }

            return true;
        }

        // TCB info v2 (SGX): sgxtcbcomp01svn .. sgxtcbcomp16svn.
        if (name != "sgxtcbcomponents")
        {
            return false;
        }

        for (int i = 0; i < 16; i++)
        {
            if (!TryGetInt(tcb, $"sgxtcbcomp{i + 1:D2}svn", out svns[i]))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool TryGetString(JsonElement element, string name, out string value)
    {
        value = "";
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String)
        {
            value = p.GetString()!;
            return true;
        }

        return false;
    }

    private static bool TryGetInt(JsonElement element, string name, out int value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var p)
            && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out value);
    }

    private static bool TryGetDate(JsonElement element, string name, out DateTimeOffset value)
    {
        value = default;
        return TryGetString(element, name, out var s)
            && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    private static bool TryHexProperty(JsonElement element, string name, out byte[] bytes)
    {
        bytes = [];
        return TryGetString(element, name, out var s) && DcapCollateral.TryHex(s, out bytes);
    }
}
