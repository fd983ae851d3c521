namespace Cloister.Attestation.Results;

/// <summary>Base64url without padding (RFC 7515 §2), decoded strictly.</summary>
/// <remarks>
/// The decoder refuses padding, whitespace, characters outside the alphabet, a length of 1 mod 4 and non-zero
/// trailing bits, so every byte string has exactly one accepted encoding and a token cannot be altered without
/// altering its signed bytes.
/// </remarks>
internal static class JoseBase64Url
{
    public static string Encode(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length % 4 == 1)
        {
            return false;
        }

        var output = new byte[text.Length * 3 / 4];
        int accumulator = 0, bits = 0, written = 0;
        foreach (var c in text)
        {
            var value = Value(c);
            if (value < 0)
            {
                return false;
            }

            accumulator = (accumulator << 6) | value;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                output[written++] = (byte)(accumulator >> bits);
                accumulator &= (1 << bits) - 1;
            }
        }

        if (accumulator != 0 || written != output.Length)
        {
            return false;
        }

        bytes = output;
        return true;
    }

    private static int Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        '_' => 63,
        _ => -1,
    };
}
