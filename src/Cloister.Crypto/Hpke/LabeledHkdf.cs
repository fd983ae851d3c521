using System.Security.Cryptography;

namespace Cloister.Crypto.Hpke;

/// <summary>RFC 9180 section 4: LabeledExtract and LabeledExpand over HKDF-SHA256 (the only KDF we support).</summary>
internal static class LabeledHkdf
{
    /// <summary>Nh: the HKDF-SHA256 output size.</summary>
    public const int HashSize = 32;

    /// <summary>The largest L that HKDF-SHA256 Expand allows (255 * Nh).</summary>
    public const int MaxExpandLength = 255 * HashSize;

    private static ReadOnlySpan<byte> Version => "HPKE-v1"u8;

    /// <summary>LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm).</summary>
    public static byte[] Extract(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> label, ReadOnlySpan<byte> ikm)
    {
        byte[] labeledIkm = new byte[Version.Length + suiteId.Length + label.Length + ikm.Length];
        try
        {
            Span<byte> rest = labeledIkm;
            rest = Append(rest, Version);
            rest = Append(rest, suiteId);
            rest = Append(rest, label);
            Append(rest, ikm);
            byte[] prk = new byte[HashSize];
            HKDF.Extract(HashAlgorithmName.SHA256, labeledIkm, salt, prk);
            return prk;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(labeledIkm);
        }
    }

    /// <summary>LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L).</summary>
    public static byte[] Expand(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> prk, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxExpandLength);
        byte[] labeledInfo = new byte[2 + Version.Length + suiteId.Length + label.Length + info.Length];
        Span<byte> rest = labeledInfo;
        rest[0] = (byte)(length >> 8);
        rest[1] = (byte)length;
        rest = Append(rest[2..], Version);
        rest = Append(rest, suiteId);
        rest = Append(rest, label);
        Append(rest, info);
        byte[] output = new byte[length];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, output, labeledInfo);
        return output;
    }

    private static Span<byte> Append(Span<byte> destination, ReadOnlySpan<byte> value)
    {
        value.CopyTo(destination);
        return destination[value.Length..];
    }
}
