using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Cloister.Functions;
using Cloister.Protocol;
using Cloister.Sandbox.Pool;

namespace Cloister.Enclave.Functions;

/// <summary>
/// The manifest's rules for a result leaving the enclave: <c>tokenizeOutput</c> fields are replaced
/// by new tokens (stored in one step), then, unless <c>returnPlaintext</c>, a result that still
/// contains a value revealed into its sandbox (during this invocation or an earlier one the warm sandbox served) is refused (docs/design/invocation.md, "Output policy").
/// </summary>
/// <remarks>
/// A result may be up to 64 MiB of tiny elements (<c>[0,0,…]</c>), so it is never built into a tree (a JsonNode per element
/// took ~75× the result's size, H1): the check reads the JSON once with a <see cref="Utf8JsonReader"/>, and a rewrite copies
/// the function's own JSON text once, with only the targeted values replaced (so escaping stays as the function wrote it and
/// the text grows only by the tokens). Without rules the result leaves as that text unchanged.
/// </remarks>
internal static class OutputPolicy
{
    /// <summary>Deeper than any result a runner frame can carry (frames are read to depth 64), so the check never refuses one for depth.</summary>
    private static readonly JsonReaderOptions ReadOptions = new() { MaxDepth = 1024 };

    public static async Task<(string? ResultJson, EnclaveError? Error)> ApplyAsync(
        JsonElement result, FunctionPermissions permissions, TokenRecords records, InvocationSecrets secrets, CancellationToken cancellationToken)
    {
        byte[]? rewritten = null;
        if (permissions.TokenizeOutput.Count > 0)
        {
            var (written, error) = await TokenizeFieldsAsync(result, permissions.TokenizeOutput, records, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                return (null, error);
            }

            rewritten = written;
        }

        var json = rewritten is null ? JsonMarshal.GetRawUtf8Value(result) : rewritten;
        if (!permissions.ReturnPlaintext && ContainsRevealed(json, secrets))
        {
            return (null, new EnclaveError(
                FunctionErrorCodes.PlaintextInOutput,
                "The result contains a value revealed into the function's sandbox (by this invocation or an earlier one it served), and the manifest does not allow plaintext out (permissions.returnPlaintext); tokenize the field (permissions.tokenizeOutput) or return less of it."));
        }

        return (Encoding.UTF8.GetString(json), null);
    }

    private static async Task<(byte[]? Json, EnclaveError? Error)> TokenizeFieldsAsync(
        JsonElement root, IReadOnlyList<TokenizeOutputRule> rules, TokenRecords records, CancellationToken cancellationToken)
    {
        var items = new List<TokenizeItem>(rules.Count);
        foreach (var rule in rules)
        {
            if (!TryFind(root, rule.Field, out var value))
            {
                return (null, Failed($"The result has no string or number at '{rule.Field}' to tokenize."));
            }

            items.Add(TokenRecords.Item(value, FunctionManifestJson.FormatName(rule.Format), rule.Classifier));
        }

        var issued = await records.IssueAsync(items, cancellationToken).ConfigureAwait(false);
        var raw = JsonMarshal.GetRawUtf8Value(root);
        var splices = new SortedDictionary<int, (int Length, byte[] Value)>();
        for (var i = 0; i < issued.Length; i++)
        {
            if (issued[i].Error is { } error)
            {
                return (null, Failed($"The field '{rules[i].Field}' could not be tokenized ({error.Code})."));
            }

            byte[] token = [(byte)'"', .. JsonEncodedText.Encode(issued[i].Token!).EncodedUtf8Bytes, (byte)'"'];
            Collect(root, rules[i].Field.Split('.'), 0, token, raw, splices);
        }

        return (Splice(raw, splices), null);
    }
    /// <summary>Follows a dotted path through objects to a non-empty string or number (its raw text), as <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/> finds names.</summary>
    private static bool TryFind(JsonElement root, string field, out string value)
    {
        value = string.Empty;
        var current = root;
        foreach (var segment in field.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(segment, out current))
            {
                return false;
            }
        }

        switch (current.ValueKind)
        {
            case JsonValueKind.String:
                value = current.GetString()!;
                break;
            case JsonValueKind.Number:
                value = current.GetRawText();
                break;
            default:
                return false;
        }

        return value.Length > 0;
    }

    /// <summary>
    /// Notes where the values at <paramref name="path"/> lie in the result's text, to be replaced by <paramref name="token"/>
    /// (a JSON string). A name repeated in an object on the path is replaced at every occurrence, so that a duplicate cannot
    /// carry a value out beside its token; the last rule for a field wins.
    /// </summary>
    private static void Collect(JsonElement element, string[] path, int depth, byte[] token, ReadOnlySpan<byte> raw, SortedDictionary<int, (int Length, byte[] Value)> splices)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var property in element.EnumerateObject())
        {
            if (!property.NameEquals(path[depth]))
            {
                continue;
            }

            if (depth < path.Length - 1)
            {
                Collect(property.Value, path, depth + 1, token, raw, splices);
            }
            else if (JsonMarshal.GetRawUtf8Value(property.Value) is var value && raw.Overlaps(value, out var offset))
            {
                splices[offset] = (value.Length, token);
            }
        }
    }

    /// <summary>
    /// The result's text with the noted values replaced: every other byte is the function's own. No noted value lies inside
    /// another: a field that is a prefix of another rule's path is a scalar for the one and an object for the other, and the
    /// rules have already been found at their last occurrences, so both cannot hold.
    /// </summary>
    private static byte[] Splice(ReadOnlySpan<byte> raw, SortedDictionary<int, (int Length, byte[] Value)> splices)
    {
        var size = raw.Length;
        foreach (var (_, (length, value)) in splices)
        {
            size += value.Length - length;
        }

        var json = new byte[size];
        int read = 0, written = 0;
        foreach (var (offset, (length, value)) in splices)
        {
            raw[read..offset].CopyTo(json.AsSpan(written));
            written += offset - read;
            value.CopyTo(json.AsSpan(written));
            written += value.Length;
            read = offset + length;
        }

        raw[read..].CopyTo(json.AsSpan(written));
        return json;
    }

    /// <summary>
    /// Looks for revealed values in every string, number (its raw text) and property name, unescaped, so JSON escaping hides
    /// nothing. One pass of a reader: no string is made of a value, and values too short to hold one are skipped unread.
    /// </summary>
    private static bool ContainsRevealed(ReadOnlySpan<byte> json, InvocationSecrets secrets)
    {
        var reader = new Utf8JsonReader(json, ReadOptions);
        char[]? buffer = null;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.PropertyName or JsonTokenType.String or JsonTokenType.Number))
                {
                    continue;
                }

                // Unescaping and UTF-8 decoding only shorten the text: fewer escaped bytes than the shortest value checked means none fits.
                var length = reader.ValueSpan.Length;
                if (length < SandboxSecrets.MinOutputCheckLength)
                {
                    continue;
                }

                if (buffer is null || buffer.Length < length)
                {
                    Return(buffer);
                    buffer = ArrayPool<char>.Shared.Rent(length);
                }

                var chars = reader.TokenType == JsonTokenType.Number
                    ? Encoding.UTF8.GetChars(reader.ValueSpan, buffer)
                    : reader.CopyString(buffer);
                if (secrets.ContainsRevealed(buffer.AsSpan(0, chars)))
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            Return(buffer);
        }

        // The buffer has held the result's text, a revealed value among it perhaps: cleared before another renter sees it.
        static void Return(char[]? buffer)
        {
            if (buffer is not null)
            {
                ArrayPool<char>.Shared.Return(buffer, clearArray: true);
            }
        }
    }

    private static EnclaveError Failed(string detail) => new(FunctionErrorCodes.TokenizeOutputFailed, detail);
}
