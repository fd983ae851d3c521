namespace Cloister.Attestation.Snp;

/// <summary>Lower-case hex for claims and policy values; parsing never throws.</summary>
internal static class SnpHex
{
    public static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Parses hex (either case, optional "0x"); false for odd lengths or non-hex characters.</summary>
    public static bool TryParse(string? text, out byte[] bytes)
    {
        bytes = [];
        if (text is null)
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        if (span.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            span = span[2..];
        }

        if (span.Length % 2 != 0)
        {
            return false;
        }

        var result = new byte[span.Length / 2];
        var status = Convert.FromHexString(span, result, out _, out var written);
        if (status != System.Buffers.OperationStatus.Done || written != result.Length)
        {
            return false;
        }

        bytes = result;
        return true;
    }
}
