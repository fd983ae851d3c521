using System.Buffers;
using System.Buffers.Text;

namespace Cloister.Attestation.Results;

/// <summary>Base64url without padding (RFC 7515 §2), decoded strictly.</summary>
/// <remarks>
/// The BCL decoder refuses a length of 1 mod 4 and non-zero trailing bits but skips whitespace and accepts padding; the
/// alphabet check refuses those too, so every byte string has exactly one accepted encoding and a token cannot be
/// altered without altering its signed bytes.
/// </remarks>
internal static class JoseBase64Url
{
    private static readonly SearchValues<char> Alphabet = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    public static string Encode(ReadOnlySpan<byte> bytes) => Base64Url.EncodeToString(bytes);

    /// <summary>Whether <paramref name="text"/> uses only the base64url alphabet (no padding, no whitespace).</summary>
    public static bool IsAlphabet(ReadOnlySpan<char> text) => !text.ContainsAnyExcept(Alphabet);

    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        if (!IsAlphabet(text))
        {
            return false;
        }

        var buffer = new byte[Base64Url.GetMaxDecodedLength(text.Length)];
        if (Base64Url.DecodeFromChars(text, buffer, out _, out var written) != OperationStatus.Done)
        {
            return false;
        }

        bytes = written == buffer.Length ? buffer : buffer[..written];
        return true;
    }
}
