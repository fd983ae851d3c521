using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Cloister.Attestation.Policy;

/// <summary>
/// RFC 8785 (JSON Canonicalization Scheme) for the JSON a policy is made of: objects, arrays of strings, strings,
/// integers, booleans and null. Arrays are treated as sets: their strings are sorted and duplicates dropped.
/// </summary>
/// <remarks>
/// JCS as it applies here: no whitespace; object members sorted by name in UTF-16 code-unit order; strings escaped only
/// where JSON requires it (<c>\"</c>, <c>\\</c>, <c>\b</c>, <c>\f</c>, <c>\n</c>, <c>\r</c>, <c>\t</c>, any other
/// control character as <c>\u00xx</c> in lower-case hex), everything else as its UTF-8; integers in plain decimal.
/// A relying party in another language reproduces the bytes with any JCS library after sorting the arrays.
/// </remarks>
internal static class CanonicalJson
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The canonical UTF-8 bytes of <paramref name="element"/>.</summary>
    /// <exception cref="ArgumentException">A value outside the subset (a fraction, an array of non-strings, a lone surrogate).</exception>
    public static byte[] Write(JsonElement element)
    {
        var text = new StringBuilder();
        Append(text, element);
        return StrictUtf8.GetBytes(text.ToString());
    }

    private static void Append(StringBuilder text, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                var first = true;
                foreach (var member in element.EnumerateObject().OrderBy(m => m.Name, StringComparer.Ordinal))
                {
                    text.Append(first ? "" : ",");
                    first = false;
                    AppendString(text, member.Name);
                    text.Append(':');
                    Append(text, member.Value);
                }

                text.Append('}');
                break;
            case JsonValueKind.Array:
                var items = element.EnumerateArray()
                    .Select(item => item.ValueKind == JsonValueKind.String ? item.GetString()! : throw new ArgumentException("canonical policy arrays hold strings only", nameof(element)))
                    .Distinct(StringComparer.Ordinal)
                    .Order(StringComparer.Ordinal);
                text.Append('[');
                text.AppendJoin(',', items.Select(item => Quote(item)));
                text.Append(']');
                break;
            case JsonValueKind.String:
                AppendString(text, element.GetString()!);
                break;
            case JsonValueKind.Number:
                text.Append(element.TryGetInt64(out var number)
                    ? number.ToString(CultureInfo.InvariantCulture)
                    : throw new ArgumentException("canonical policy numbers are integers", nameof(element)));
                break;
            case JsonValueKind.True:
                text.Append("true");
                break;
            case JsonValueKind.False:
                text.Append("false");
                break;
            default:
                text.Append("null");
                break;
        }
    }

    private static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2);
        AppendString(text, value);
        return text.ToString();
    }

    private static void AppendString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (var c in value)
        {
            _ = c switch
            {
                '"' => text.Append("\\\""),
                '\\' => text.Append("\\\\"),
                '\b' => text.Append("\\b"),
                '\f' => text.Append("\\f"),
                '\n' => text.Append("\\n"),
                '\r' => text.Append("\\r"),
                '\t' => text.Append("\\t"),
                < ' ' => text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => text.Append(c),
            };
        }

        text.Append('"');
    }
}
