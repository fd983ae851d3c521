using System.Text.Json;
using System.Text.Json.Nodes;
using Cloister.Protocol;

namespace Cloister.Enclave.Functions;

/// <summary>
/// The caller's args: a JSON object in which every object that is exactly <c>{"$token": "…"}</c>
/// is a token reference, to be replaced by the token's plaintext before the handler sees it.
/// </summary>
internal sealed class TokenArgs
{
    /// <summary>Largest args accepted, in UTF-16 characters of the JSON text.</summary>
    public const int MaxArgsChars = 1024 * 1024;

    /// <summary>Deepest nesting accepted.</summary>
    public const int MaxDepth = 32;

    /// <summary>Most token references in one invocation's args.</summary>
    public const int MaxReferences = 256;

    private const string TokenProperty = "$token";
    private const int MaxPathChars = 200;

    private readonly JsonObject _root;
    private readonly List<Reference> _references;

    private TokenArgs(JsonObject root, List<Reference> references)
    {
        _root = root;
        _references = references;
        Tokens = [.. references.Select(reference => reference.Token).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The distinct tokens referenced, in order of first appearance.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Parses <paramref name="json"/>; the <c>invalid-args</c> error when it is not an object, too large or too deep, or has a malformed reference.</summary>
    public static TokenArgs? TryParse(string? json, out EnclaveError? error)
    {
        error = null;
        if (json is null || json.Length > MaxArgsChars)
        {
            error = Invalid($"The args must be a JSON object of at most {MaxArgsChars} characters.");
            return null;
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, null, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException)
        {
            error = Invalid($"The args are not valid JSON (or are nested deeper than {MaxDepth}).");
            return null;
        }

        if (node is not JsonObject root)
        {
            error = Invalid("The args must be a JSON object.");
            return null;
        }

        try
        {
            if (IsReference(root, out _))
            {
                error = Invalid("The args themselves may not be a token reference; put it in a field.");
                return null;
            }

            var references = new List<Reference>();
            error = Collect(root, "$", references);
            return error is null ? new TokenArgs(root, references) : null;
        }
        catch (Exception exception) when (exception is ArgumentException or InvalidOperationException)
        {
            // A duplicate property name, or a string escape with no Unicode meaning (a lone surrogate).
            error = Invalid("The args have a duplicate property or a string that is not valid Unicode.");
            return null;
        }
    }

    /// <summary>The JSON path of the first reference to <paramref name="token"/> (names fields, never values).</summary>
    public string PathOf(string token) => _references.First(reference => string.Equals(reference.Token, token, StringComparison.Ordinal)).Path;

    /// <summary>Replaces every reference to each token with its plaintext and returns the event the handler gets.</summary>
    public JsonElement Resolve(IReadOnlyDictionary<string, string> plaintext)
    {
        foreach (var reference in _references)
        {
            reference.Replace(JsonValue.Create(plaintext[reference.Token]));
        }

        return JsonSerializer.SerializeToElement(_root);
    }

    private static EnclaveError? Collect(JsonNode? node, string path, List<Reference> references)
    {
        EnclaveError? error = null;
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, child) in obj.ToList())
                {
                    error ??= Visit(child, Shorten(path + "." + name), replacement => obj[name] = replacement, references);
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var index = i;
                    error ??= Visit(array[i], Shorten($"{path}[{i}]"), replacement => array[index] = replacement, references);
                }

                break;
        }

        return error ?? (references.Count > MaxReferences ? Invalid($"The args hold more than {MaxReferences} token references.") : null);
    }

    /// <summary>Records <paramref name="child"/> as a reference if it is one, otherwise looks inside it.</summary>
    private static EnclaveError? Visit(JsonNode? child, string path, Action<JsonNode?> replace, List<Reference> references)
    {
        if (child is not JsonObject candidate || !candidate.ContainsKey(TokenProperty))
        {
            return Collect(child, path, references);
        }

        if (!IsReference(candidate, out var token))
        {
            return Invalid($"The token reference at {path} must be exactly {{\"$token\": \"<token>\"}}.");
        }

        references.Add(new Reference(token, path, replace));
        return null;
    }

    private static bool IsReference(JsonObject candidate, out string token)
    {
        token = string.Empty;
        if (candidate.Count != 1 || !candidate.TryGetPropertyValue(TokenProperty, out var value)
            || value is not JsonValue scalar || scalar.GetValueKind() != JsonValueKind.String)
        {
            return false;
        }

        token = scalar.GetValue<string>();
        return token.Length > 0;
    }

    private static string Shorten(string path) => path.Length <= MaxPathChars ? path : string.Concat(path.AsSpan(0, MaxPathChars), "…");

    private static EnclaveError Invalid(string detail) => new(FunctionErrorCodes.InvalidArgs, detail);

    private sealed record Reference(string Token, string Path, Action<JsonNode?> Replace);
}
