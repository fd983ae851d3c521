using System.Text.Json;
using System.Text.Json.Nodes;
using Cloister.Functions;
using Cloister.Protocol;

namespace Cloister.Enclave.Functions;

/// <summary>
/// The manifest's rules for a result leaving the enclave: <c>tokenizeOutput</c> fields are replaced
/// by new tokens (stored in one step), then, unless <c>returnPlaintext</c>, a result that still
/// contains a value revealed into its sandbox (during this invocation or an earlier one the warm sandbox served) is refused (docs/design/invocation.md, "Output policy").
/// </summary>
internal static class OutputPolicy
{
    public static async Task<(string? ResultJson, EnclaveError? Error)> ApplyAsync(
        JsonElement result, FunctionPermissions permissions, TokenRecords records, InvocationSecrets secrets, CancellationToken cancellationToken)
    {
        var root = JsonNode.Parse(result.GetRawText());
        if (permissions.TokenizeOutput.Count > 0)
        {
            if (await TokenizeFieldsAsync(root, permissions.TokenizeOutput, records, cancellationToken).ConfigureAwait(false) is { } error)
            {
                return (null, error);
            }
        }

        if (!permissions.ReturnPlaintext && ContainsRevealed(root, secrets))
        {
            return (null, new EnclaveError(
                FunctionErrorCodes.PlaintextInOutput,
                "The result contains a value revealed into the function's sandbox (by this invocation or an earlier one it served), and the manifest does not allow plaintext out (permissions.returnPlaintext); tokenize the field (permissions.tokenizeOutput) or return less of it."));
        }

        return (root?.ToJsonString() ?? "null", null);
    }

    private static async Task<EnclaveError?> TokenizeFieldsAsync(JsonNode? root, IReadOnlyList<TokenizeOutputRule> rules, TokenRecords records, CancellationToken cancellationToken)
    {
        var targets = new List<(JsonObject Parent, string Name)>();
        var items = new List<TokenizeItem>();
        foreach (var rule in rules)
        {
            if (!TryFind(root, rule.Field, out var parent, out var name, out var value))
            {
                return Failed($"The result has no string or number at '{rule.Field}' to tokenize.");
            }

            targets.Add((parent, name));
            items.Add(TokenRecords.Item(value, FunctionManifestJson.FormatName(rule.Format), rule.Classifier));
        }

        var issued = await records.IssueAsync(items, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < issued.Length; i++)
        {
            if (issued[i].Error is { } error)
            {
                return Failed($"The field '{rules[i].Field}' could not be tokenized ({error.Code}).");
            }

            targets[i].Parent[targets[i].Name] = issued[i].Token;
        }

        return null;
    }

    /// <summary>Follows a dotted path through objects to a string or number.</summary>
    private static bool TryFind(JsonNode? root, string field, out JsonObject parent, out string name, out string value)
    {
        parent = null!;
        name = string.Empty;
        value = string.Empty;
        var segments = field.Split('.');
        var current = root;
        for (var i = 0; i < segments.Length - 1; i++)
        {
            current = current is JsonObject obj && obj.TryGetPropertyValue(segments[i], out var child) ? child : null;
        }

        if (current is not JsonObject owner || !owner.TryGetPropertyValue(segments[^1], out var leaf) || leaf is not JsonValue scalar)
        {
            return false;
        }

        switch (scalar.GetValueKind())
        {
            case JsonValueKind.String:
                value = scalar.GetValue<string>();
                break;
            case JsonValueKind.Number:
                value = scalar.ToJsonString();
                break;
            default:
                return false;
        }

        parent = owner;
        name = segments[^1];
        return value.Length > 0;
    }

    /// <summary>Looks for revealed values in every string, number and property name (unescaped, so JSON escaping hides nothing).</summary>
    private static bool ContainsRevealed(JsonNode? node, InvocationSecrets secrets) => node switch
    {
        JsonObject obj => obj.Any(property => secrets.ContainsRevealed(property.Key) || ContainsRevealed(property.Value, secrets)),
        JsonArray array => array.Any(item => ContainsRevealed(item, secrets)),
        JsonValue scalar => scalar.GetValueKind() switch
        {
            JsonValueKind.String => secrets.ContainsRevealed(scalar.GetValue<string>()),
            JsonValueKind.Number => secrets.ContainsRevealed(scalar.ToJsonString()),
            _ => false,
        },
        _ => false,
    };

    private static EnclaveError Failed(string detail) => new(FunctionErrorCodes.TokenizeOutputFailed, detail);
}
