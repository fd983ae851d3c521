using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Client;

/// <summary>Options of a token to create. Null fields take the server's defaults.</summary>
public sealed record TokenizeOptions(
    string? Format = null,
    string? Alphabet = null,
    string? Classifier = null,
    bool? Deterministic = null,
    long? TtlSeconds = null,
    JsonElement? Metadata = null);

/// <summary>POST /v1/tokens body.</summary>
public sealed record CreateTokenBody(string Value, string? Format, string? Alphabet, string? Classifier, bool? Deterministic, long? TtlSeconds, JsonElement? Metadata);

/// <summary>POST /v1/tokens/batch body.</summary>
public sealed record BatchBody(IReadOnlyList<CreateTokenBody> Items);

/// <summary>A created token.</summary>
public sealed record TokenCreated(string Token, string Format, string? Alphabet, string Classifier, string Mask, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>A batch of created tokens, in request order.</summary>
public sealed record BatchCreated(IReadOnlyList<TokenCreated> Items);

/// <summary>A token's metadata.</summary>
public sealed record TokenInfo(string Token, string Format, string? Alphabet, string Classifier, string Mask, bool Deterministic, int KeyVersion, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, JsonElement? Metadata);

/// <summary>A revealed value.</summary>
public sealed record RevealedValue(string Value);

/// <summary>POST /v1/tokens/search body.</summary>
public sealed record SearchBody(string Value);

/// <summary>Search results.</summary>
public sealed record SearchResult(IReadOnlyList<TokenInfo> Tokens);

/// <summary>POST /v1/tenants body.</summary>
public sealed record CreateTenantBody(string Name);

/// <summary>A created tenant.</summary>
public sealed record TenantCreated(string Id, string Name);

/// <summary>POST /v1/tenants/{id}/apikeys body.</summary>
public sealed record CreateApiKeyBody(IReadOnlyList<string> Scopes);

/// <summary>A created API key; <see cref="Key"/> is shown only once.</summary>
public sealed record ApiKeyCreated(string Id, string Key, IReadOnlyList<string> Scopes);

/// <summary>One API key of GET /v1/admin/apikeys (never its secret); <see cref="TenantId"/> is null for an admin key.</summary>
public sealed record ApiKeyInfo(string Id, string? TenantId, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>GET /v1/admin/apikeys response: every API key, oldest first.</summary>
public sealed record ApiKeyList(IReadOnlyList<ApiKeyInfo> Keys);

/// <summary>The shape of an API key: <c>ck_{id}_{secret}</c>.</summary>
public static class ApiKeyFormat
{
    private const string Prefix = "ck_";

    /// <summary>The id of <paramref name="key"/> (what listings and revocations name), or null when it is not shaped like a Cloister key.</summary>
    public static string? IdOf(string? key)
    {
        if (key is null || !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var end = key.IndexOf('_', Prefix.Length);
        return end > Prefix.Length ? key[Prefix.Length..end] : null;
    }
}

/// <summary>A rotated data key.</summary>
public sealed record DataKeyRotated(string TenantId, int Version);

/// <summary>RFC 9457 problem details as the server sends them; <paramref name="InvocationId"/> is set on a failed invocation.</summary>
public sealed record Problem(string? Type, string? Title, int? Status, string? Detail, string? Code, string? InvocationId = null);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateTokenBody))]
[JsonSerializable(typeof(BatchBody))]
[JsonSerializable(typeof(TokenCreated))]
[JsonSerializable(typeof(BatchCreated))]
[JsonSerializable(typeof(TokenInfo))]
[JsonSerializable(typeof(RevealedValue))]
[JsonSerializable(typeof(SearchBody))]
[JsonSerializable(typeof(SearchResult))]
[JsonSerializable(typeof(CreateTenantBody))]
[JsonSerializable(typeof(TenantCreated))]
[JsonSerializable(typeof(CreateApiKeyBody))]
[JsonSerializable(typeof(ApiKeyCreated))]
[JsonSerializable(typeof(ApiKeyList))]
[JsonSerializable(typeof(DataKeyRotated))]
[JsonSerializable(typeof(DeployFunctionBody))]
[JsonSerializable(typeof(FunctionDeployed))]
[JsonSerializable(typeof(FunctionList))]
[JsonSerializable(typeof(FunctionDetail))]
[JsonSerializable(typeof(InvokeFunctionBody))]
[JsonSerializable(typeof(InvocationResult))]
[JsonSerializable(typeof(InvocationAccepted))]
[JsonSerializable(typeof(InvocationInfo))]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(Sealed.WorkerAttestationInfo))]
[JsonSerializable(typeof(Sealed.SealedTokenizeBody))]
[JsonSerializable(typeof(Sealed.SealedRevealBody))]
[JsonSerializable(typeof(Sealed.SealedRevealedBody))]
[JsonSerializable(typeof(Sealed.SealedInvokeBody))]
[JsonSerializable(typeof(Sealed.SealedInvocationResult))]
public sealed partial class ClientJsonContext : JsonSerializerContext;
