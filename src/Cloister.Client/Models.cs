using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Cloister.Api.Contracts;

namespace Cloister.Client;

/// <summary>Options of a token to create. Null fields take the server's defaults.</summary>
public sealed record TokenizeOptions(
    string? Format = null,
    string? Alphabet = null,
    string? Classifier = null,
    bool? Deterministic = null,
    long? TtlSeconds = null,
    JsonElement? Metadata = null);

/// <summary>What runs: without a pin the latest version; a version, or a measurement the latest version must still have.</summary>
public sealed record InvokePin(int? Version = null, string? Measurement = null);

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

/// <summary>RFC 9457 problem details as the server sends them; <paramref name="InvocationId"/> is set on a failed invocation.</summary>
public sealed record Problem(string? Type, string? Title, int? Status, string? Detail, string? Code, string? InvocationId = null);

/// <summary>The SDK's own types; the HTTP bodies are <see cref="ApiJsonContext"/>'s (Cloister.Api.Contracts).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(Sealed.SealedInvocationResult))]
public sealed partial class ClientJsonContext : JsonSerializerContext
{
    /// <summary>
    /// How the SDK reads and writes every body: the API contracts and its own types, null members left out of requests,
    /// unknown members of answers skipped (a newer server may add some).
    /// </summary>
    public static JsonSerializerOptions Bodies { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        TypeInfoResolver = JsonTypeInfoResolver.Combine(ApiJsonContext.Default, Default),
    };

    /// <summary>The type info of <typeparamref name="T"/> under <see cref="Bodies"/>.</summary>
    public static JsonTypeInfo<T> TypeOf<T>() => (JsonTypeInfo<T>)Bodies.GetTypeInfo(typeof(T));
}
