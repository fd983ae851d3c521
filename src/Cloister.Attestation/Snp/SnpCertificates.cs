using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Cloister.Attestation.Snp;

/// <summary>Certificate plumbing for the SNP verifier: PEM/DER input decoding and RSASSA-PSS signature checks.</summary>
internal static class SnpCertificates
{
    /// <summary>A certificate input larger than this is not a certificate or chain (a KDS chain PEM is ~6.5 KB).</summary>
    public const int MaxCertificateInputBytes = 256 * 1024;

    private const string RsaPssOid = "1.2.840.113549.1.1.10";
    private const string Sha384Oid = "2.16.840.1.101.3.4.2.2";
    private const string Mgf1Oid = "1.2.840.113549.1.1.8";

    /// <summary>Every DER certificate in the inputs: DER entries as they are, PEM entries split into their blocks.</summary>
    /// <returns>Each certificate with the index of the input it came from.</returns>
    public static List<(byte[] Der, int Source)> DecodeInputs(IReadOnlyList<byte[]>? inputs, List<string> problems)
    {
        var result = new List<(byte[] Der, int Source)>();
        if (inputs is null)
        {
            return result;
        }

        for (var index = 0; index < inputs.Count; index++)
        {
            var input = inputs[index];
            if (input is null || input.Length == 0)
            {
                problems.Add("empty certificate input");
                continue;
            }

            if (input.Length > MaxCertificateInputBytes)
            {
                problems.Add($"certificate input of {input.Length} bytes ignored (limit {MaxCertificateInputBytes})");
                continue;
            }

            if (input[0] == 0x30)
            {
                result.Add((input, index));
                continue;
            }

            var text = Encoding.Latin1.GetString(input).AsSpan();
            var found = false;
            while (PemEncoding.TryFind(text, out var fields))
            {
                var label = text[fields.Label];
                if (label.SequenceEqual("CERTIFICATE"))
                {
                    var der = new byte[fields.DecodedDataLength];
                    if (Convert.TryFromBase64Chars(text[fields.Base64Data], der, out var written) && written == der.Length)
                    {
                        result.Add((der, index));
                        found = true;
                    }
                }

                text = text[fields.Location.End.Value..];
            }

            if (!found)
            {
                problems.Add("certificate input is neither DER nor PEM with a CERTIFICATE block");
            }
        }

        return result;
    }

    /// <summary>Checks that <paramref name="certificateDer"/> is signed by <paramref name="issuerKey"/> with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48.</summary>
    public static bool VerifyRsaPssSignature(byte[] certificateDer, RSA issuerKey, out string? reason)
    {
        try
        {
            var outer = new AsnReader(certificateDer, AsnEncodingRules.DER);
            var certificate = outer.ReadSequence();
            var tbs = certificate.ReadEncodedValue();
            var algorithmEncoded = certificate.ReadEncodedValue();
            var signature = certificate.ReadBitString(out var unusedBits);
            if (outer.HasData || certificate.HasData || unusedBits != 0)
            {
                reason = "malformed certificate";
                return false;
            }

            // RFC 5280 4.1.1.2: the unsigned outer algorithm must equal the signed one inside the TBS.
            var tbsFields = new AsnReader(tbs, AsnEncodingRules.DER).ReadSequence();
            if (tbsFields.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
            {
                tbsFields.ReadEncodedValue();
            }

            tbsFields.ReadEncodedValue();
            if (!tbsFields.ReadEncodedValue().Span.SequenceEqual(algorithmEncoded.Span))
            {
                reason = "the outer signature algorithm differs from the signed one";
                return false;
            }

            var algorithm = new AsnReader(algorithmEncoded, AsnEncodingRules.DER).ReadSequence();
            if (algorithm.ReadObjectIdentifier() != RsaPssOid)
            {
                reason = "signature algorithm is not RSASSA-PSS";
                return false;
            }

            if (!PssParametersAreSha384(algorithm))
            {
                reason = "RSASSA-PSS parameters are not SHA-384, MGF1-SHA-384, salt 48";
                return false;
            }

            if (!issuerKey.VerifyData(tbs.Span, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pss))
            {
                reason = "RSASSA-PSS signature does not verify";
                return false;
            }

            reason = null;
            return true;
        }
        catch (AsnContentException)
        {
            reason = "malformed certificate";
            return false;
        }
        catch (CryptographicException)
        {
            reason = "malformed signature";
            return false;
        }
    }

    private static bool PssParametersAreSha384(AsnReader algorithm)
    {
        var parameters = algorithm.ReadSequence();
        if (algorithm.HasData)
        {
            return false;
        }

        bool hashOk = false, mgfOk = false, saltOk = false;
        while (parameters.HasData)
        {
            var tag = parameters.PeekTag();
            if (tag.TagClass != TagClass.ContextSpecific)
            {
                return false;
            }

            var field = parameters.ReadSequence(tag);
            switch (tag.TagValue)
            {
                case 0:
                    hashOk = IsSha384AlgorithmIdentifier(field);
                    break;

                case 1:
                    {
                        var mgf = field.ReadSequence();
                        if (mgf.ReadObjectIdentifier() != Mgf1Oid)
                        {
                            return false;
                        }

                        mgfOk = IsSha384AlgorithmIdentifier(mgf) && !mgf.HasData;
                        break;
                    }

                case 2:
                    saltOk = field.TryReadInt32(out var salt) && salt == 48;
                    break;
                case 3:
                    if (!field.TryReadInt32(out var trailer) || trailer != 1)
                    {
                        return false;
                    }

                    break;
                default:
                    return false;
            }

            if (field.HasData)
            {
                return false;
            }
        }

        return hashOk && mgfOk && saltOk;
    }

    /// <summary>Reads AlgorithmIdentifier { sha384, NULL or absent } exactly.</summary>
    private static bool IsSha384AlgorithmIdentifier(AsnReader reader)
    {
        var identifier = reader.ReadSequence();
        if (identifier.ReadObjectIdentifier() != Sha384Oid)
        {
            return false;
        }

        if (identifier.HasData)
        {
            identifier.ReadNull();
        }

        return !identifier.HasData;
    }

    /// <summary>Reads a small non-negative DER INTEGER (the VCEK SPL extensions; ucodeSPL can take two bytes).</summary>
    public static bool TryReadSmallInteger(ReadOnlySpan<byte> der, out int value)
    {
        value = 0;
        try
        {
            var integer = AsnDecoder.ReadInteger(der, AsnEncodingRules.DER, out var consumed);
            if (consumed != der.Length || integer < BigInteger.Zero || integer > 255)
            {
                return false;
            }

            value = (int)integer;
            return true;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    /// <summary>Reads an IA5 or UTF-8 string extension value, or null.</summary>
    public static string? TryReadString(ReadOnlySpan<byte> der)
    {
        foreach (var tag in new[] { UniversalTagNumber.IA5String, UniversalTagNumber.UTF8String, UniversalTagNumber.PrintableString })
        {
            try
            {
                var text = AsnDecoder.ReadCharacterString(der, AsnEncodingRules.DER, tag, out var consumed);
                if (consumed == der.Length)
                {
                    return text;
                }
            }
            catch (AsnContentException)
            {
                // try the next string type
            }
        }

        return null;
    }

    public static DateTimeOffset NotBefore(X509Certificate2 certificate) => new(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);

    public static DateTimeOffset NotAfter(X509Certificate2 certificate) => new(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
}
