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
/// took ~75× the result's size, H1): the check reads the JSON once with a <see cref="Utf8JsonReader"/>, and a rewrite streams
/// the element through one <see cref="Utf8JsonWriter"/>, replacing only the targeted values. Without rules the result leaves
/// as the function's own JSON text.
/// </remarks>
internal static class OutputPolicy
{
    /// <summary>Deeper than any result a runner frame can carry (frames are read to depth 64), so the check never refuses one for depth.</summary>
    private static readonly JsonReaderOptions ReadOptions = new() { MaxDepth = 1024 };

    public static async Task<(string? ResultJson, EnclaveError? Error)> ApplyAsync(
        JsonElement result, FunctionPermissions permissions, TokenRecords records, InvocationSecrets secrets, CancellationToken cancellationToken)
    {
        ArrayBufferWriter<byte>? rewritten = null;
        if (permissions.TokenizeOutput.Count > 0)
        {
            var (written, error) = await TokenizeFieldsAsync(result, permissions.TokenizeOutput, records, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                return (null, error);
            }

            rewritten = written;
        }

        var json = rewritten is null ? JsonMarshal.GetRawUtf8Value(result) : rewritten.WrittenSpan;
        if (!permissions.ReturnPlaintext && ContainsRevealed(json, secrets))
        {
            return (null, new EnclaveError(
                FunctionErrorCodes.PlaintextInOutput,
                "The result contains a value revealed into the function's sandbox (by this invocation or an earlier one it served), and the manifest does not allow plaintext out (permissions.returnPlaintext); tokenize the field (permissions.tokenizeOutput) or return less of it."));
        }

        return (Encoding.UTF8.GetString(json), null);
    }

    private static async Task<(ArrayBufferWriter<byte>? Json, EnclaveError? Error)> TokenizeFieldsAsync(
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
        var replacements = new FieldTree();
        var tokenBytes = 0;
        for (var i = 0; i < issued.Length; i++)
        {
            if (issued[i].Error is { } error)
            {
                return (null, Failed($"The field '{rules[i].Field}' could not be tokenized ({error.Code})."));
            }

            replacements.Add(rules[i].Field.Split('.'), issued[i].Token!);
            tokenBytes += Encoding.UTF8.GetByteCount(issued[i].Token!);
        }

        // Sized for the result and its tokens, so that a compact result is written without growing the buffer.
        var json = new ArrayBufferWriter<byte>(JsonMarshal.GetRawUtf8Value(root).Length + tokenBytes + 256);
        using (var writer = new Utf8JsonWriter(json))
        {
            Write(root, replacements, writer);
        }

        return (json, null);
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
    /// Writes <paramref name="element"/> with the values at <paramref name="fields"/> replaced by their tokens. Only objects on a
    /// rule's path are walked here; everything else is copied by <see cref="JsonElement.WriteTo"/>. A name repeated in an object
    /// on the path is replaced at every occurrence, so that a duplicate cannot carry the value out beside its token.
    /// </summary>
    private static void Write(JsonElement element, FieldTree fields, Utf8JsonWriter writer)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            element.WriteTo(writer);
            return;
        }

        writer.WriteStartObject();
        foreach (var property in element.EnumerateObject())
        {
            if (fields.Find(property) is not ({ } name, { } field))
            {
                property.WriteTo(writer);
            }
            else if (field.Token is { } token)
            {
                writer.WriteString(name, token);
            }
            else
            {
                writer.WritePropertyName(name);
                Write(property.Value, field, writer);
            }
        }

        writer.WriteEndObject();
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

    /// <summary>The rules' dotted paths as a tree of names: a leaf holds the token its value is replaced by (the last rule for a field wins).</summary>
    private sealed class FieldTree
    {
        private readonly List<(string Name, FieldTree Field)> _children = [];

        public string? Token { get; private set; }

        public void Add(ReadOnlySpan<string> path, string token)
        {
            if (path.IsEmpty)
            {
                Token = token;
                return;
            }

            var name = path[0];
            var child = _children.Find(entry => entry.Name == name).Field;
            if (child is null)
            {
                child = new FieldTree();
                _children.Add((name, child));
            }

            child.Add(path[1..], token);
        }

        /// <summary>The child named as <paramref name="property"/> (compared unescaped, without making a string of the name).</summary>
        public (string Name, FieldTree Field)? Find(JsonProperty property)
        {
            foreach (var child in _children)
            {
                if (property.NameEquals(child.Name))
                {
                    return child;
                }
            }

            return null;
        }
    }
}
