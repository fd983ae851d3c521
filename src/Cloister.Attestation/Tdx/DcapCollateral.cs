using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Cloister.Attestation.Tdx;

/// <summary>
/// Intel DCAP collateral gathered from the evidence bundle: either the JSON bundle the vectors use (dcap-qvl's
/// field names: tcb_info, tcb_info_signature, tcb_info_issuer_chain, qe_identity, …, root_ca_crl, pck_crl, all hex
/// or PEM) or separate files (PCS tcbInfo and enclaveIdentity responses, PEM issuer chains, CRLs in DER, PEM or hex).
/// The signed JSON is kept as the exact bytes that were signed.
/// </summary>
internal sealed class DcapCollateral
{
    /// <summary>Largest collateral item accepted; real ones are under 20 KB.</summary>
    public const int MaxItemBytes = 1024 * 1024;

    public byte[]? TcbInfo { get; private set; }

    public byte[]? TcbInfoSignature { get; private set; }

    public List<X509Certificate2> TcbInfoChain { get; } = [];

    public byte[]? QeIdentity { get; private set; }

    public byte[]? QeIdentitySignature { get; private set; }

    public List<X509Certificate2> QeIdentityChain { get; } = [];

    /// <summary>Certificates given loose (PEM or DER files), used when a signed item has no chain of its own.</summary>
    public List<X509Certificate2> LooseCertificates { get; } = [];

    public List<DcapCrl> Crls { get; } = [];

    public static bool TryRead(IReadOnlyList<byte[]> items, out DcapCollateral collateral, out string error)
    {
        collateral = new DcapCollateral();
        for (int i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (item is null || item.Length == 0)
            {
                error = $"collateral: item {i} is empty";
                return false;
            }

            if (item.Length > MaxItemBytes)
            {
                error = $"collateral: item {i} is larger than {MaxItemBytes} bytes";
                return false;
            }

            if (!collateral.TryAdd(item, out error))
            {
                error = $"collateral: item {i}: {error}";
                return false;
            }
        }

        error = "";
        return true;
    }

    private bool TryAdd(byte[] item, out string error)
    {
        error = "";
        if (item[0] == 0x30)
        {
            // Binary DER: never trim, its last bytes may look like whitespace.
            return TryAddDer(item, out error);
        }

        var trimmed = TrimAscii(item);
        if (trimmed.Length == 0)
        {
            error = "blank";
            return false;
        }

        if (trimmed[0] == (byte)'{')
        {
            return TryAddJson(trimmed, out error);
        }

        if (trimmed.IndexOf("-----BEGIN"u8) >= 0)
        {
            return TryAddPem(trimmed, out error);
        }

        if (TryHex(Encoding.ASCII.GetString(trimmed), out var der) && der.Length > 0 && der[0] == 0x30)
        {
            return TryAddDer(der, out error);
        }

        error = "not JSON, PEM, DER or hex DER";
        return false;
    }

    private bool TryAddDer(ReadOnlySpan<byte> der, out string error)
    {
        if (DcapCrl.TryParse(der, out var crl))
        {
            Crls.Add(crl!);
            error = "";
            return true;
        }

        try
        {
            LooseCertificates.Add(X509CertificateLoader.LoadCertificate(der));
            error = "";
            return true;
        }
        catch (CryptographicException)
        {
            error = "DER is neither a CRL nor a certificate";
            return false;
        }
    }

    private bool TryAddPem(ReadOnlySpan<byte> pem, out string error)
    {
        error = "";
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(pem);
        }
        catch (DecoderFallbackException)
        {
            error = "PEM is not UTF-8";
            return false;
        }

        if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            if (!DcapRoots.TryReadPemCertificates(pem, out var certificates))
            {
                error = "malformed PEM certificate";
                return false;
            }

            LooseCertificates.AddRange(certificates);
        }

        const string CrlBegin = "-----BEGIN X509 CRL-----";
        const string CrlEnd = "-----END X509 CRL-----";
        int position = 0;
        while ((position = text.IndexOf(CrlBegin, position, StringComparison.Ordinal)) >= 0)
        {
            int end = text.IndexOf(CrlEnd, position, StringComparison.Ordinal);
            if (end < 0)
            {
                error = "unterminated PEM CRL";
                return false;
            }

            var body = text[(position + CrlBegin.Length)..end];
            byte[] der;
            try
            {
                der = Convert.FromBase64String(body);
            }
            catch (FormatException)
            {
                error = "malformed PEM CRL";
                return false;
            }

            if (!DcapCrl.TryParse(der, out var crl))
            {
                error = "malformed CRL";
                return false;
            }

            Crls.Add(crl!);
            position = end + CrlEnd.Length;
        }

        return true;
    }

    private bool TryAddJson(byte[] json, out string error)
    {
        error = "";
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            // JsonElement.GetString throws on invalid UTF-8 inside strings; refuse it up front.
            error = "JSON is not valid UTF-8";
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "JSON is not an object";
                return false;
            }

            if (root.TryGetProperty("tcb_info", out _) || root.TryGetProperty("qe_identity", out _))
            {
                return TryAddBundle(root, out error);
            }

            foreach (var (property, isTcb) in new[] { ("tcbInfo", true), ("enclaveIdentity", false), ("qeIdentity", false) })
            {
                if (!root.TryGetProperty(property, out _))
                {
                    continue;
                }

                if (!TryRawProperty(json, property, out var raw) || !root.TryGetProperty("signature", out var sigElement)
                    || sigElement.ValueKind != JsonValueKind.String || !TryHex(sigElement.GetString()!, out var signature))
                {
                    error = $"{property} response without a raw value or hex signature";
                    return false;
                }

                if ((isTcb ? TcbInfo : QeIdentity) is not null)
                {
                    error = $"a second {property} (give one TCB info and one QE identity)";
                    return false;
                }

                if (isTcb)
                {
                    TcbInfo = raw;
                    TcbInfoSignature = signature;
                }
                else
                {
                    QeIdentity = raw;
                    QeIdentitySignature = signature;
                }

                return true;
            }

            error = "JSON is neither a collateral bundle nor a tcbInfo/enclaveIdentity response";
            return false;
        }
        catch (JsonException e)
        {
            error = $"malformed JSON ({e.Message})";
            return false;
        }
    }

    private bool TryAddBundle(JsonElement root, out string error)
    {
        error = "";
        if (TcbInfo is not null || QeIdentity is not null)
        {
            error = "a collateral bundle after another TCB info or QE identity (give one of each)";
            return false;
        }

        if (TryString(root, "tcb_info", out var tcbInfo))
        {
            TcbInfo = Encoding.UTF8.GetBytes(tcbInfo);
            if (!TryString(root, "tcb_info_signature", out var s) || !TryHex(s, out var sig))
            {
                error = "tcb_info_signature missing or not hex";
                return false;
            }

            TcbInfoSignature = sig;
        }

        if (TryString(root, "qe_identity", out var qeIdentity))
        {
            QeIdentity = Encoding.UTF8.GetBytes(qeIdentity);
            if (!TryString(root, "qe_identity_signature", out var s) || !TryHex(s, out var sig))
            {
                error = "qe_identity_signature missing or not hex";
                return false;
            }

            QeIdentitySignature = sig;
        }

        foreach (var (name, target) in new[] { ("tcb_info_issuer_chain", TcbInfoChain), ("qe_identity_issuer_chain", QeIdentityChain), ("pck_crl_issuer_chain", LooseCertificates) })
        {
            if (TryString(root, name, out var pem))
            {
                if (!DcapRoots.TryReadPemCertificates(Encoding.UTF8.GetBytes(pem), out var certificates))
                {
                    error = $"{name} is not a PEM chain";
                    return false;
                }

                target.AddRange(certificates);
            }
        }

        foreach (var name in new[] { "root_ca_crl", "pck_crl" })
        {
            if (TryString(root, name, out var value))
            {
                byte[] der;
                if (value.Contains("-----BEGIN", StringComparison.Ordinal))
                {
                    if (!TryAddPem(Encoding.UTF8.GetBytes(value), out error))
                    {
                        return false;
                    }

                    continue;
                }

                if (!TryHex(value, out der) || !DcapCrl.TryParse(der, out var crl))
                {
                    error = $"{name} is not a hex DER CRL";
                    return false;
                }

                Crls.Add(crl!);
            }
        }

        return true;
    }

    private static bool TryString(JsonElement root, string name, out string value)
    {
        value = "";
        if (root.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.String)
        {
            value = element.GetString()!;
            return true;
        }

        return false;
    }

    /// <summary>The exact bytes of a top-level property's value, as signed (never re-serialized).</summary>
    private static bool TryRawProperty(byte[] json, string name, out byte[] raw)
    {
        raw = [];
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool match = reader.ValueTextEquals(name);
            if (!reader.Read())
            {
                return false;
            }

            if (match && reader.TokenType == JsonTokenType.StartObject)
            {
                long start = reader.TokenStartIndex;
                reader.Skip();
                raw = json.AsSpan((int)start, (int)(reader.BytesConsumed - start)).ToArray();
                return true;
            }

            reader.Skip();
        }

        return false;
    }

    internal static bool TryHex(string text, out byte[] bytes)
    {
        bytes = [];
        var s = text.Trim();
        if (s.Length % 2 != 0)
        {
            return false;
        }

        bytes = new byte[s.Length / 2];
        return Convert.FromHexString(s, bytes, out _, out int written) == System.Buffers.OperationStatus.Done && written == bytes.Length;
    }

    private static byte[] TrimAscii(byte[] item)
    {
        int start = 0;
        int end = item.Length;
        while (start < end && (item[start] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or 0xEF or 0xBB or 0xBF))
        {
            start++;
        }

        while (end > start && (item[end - 1] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or 0))
        {
            end--;
        }

        return item[start..end];
    }
}
