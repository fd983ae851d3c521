using System.Text.Json;

namespace Cloister.Server.Tokens;

/// <summary>POST /v1/tokens body (and one item of a batch).</summary>
public sealed record CreateTokenRequest(
    string? Value,
    string? Format,
    string? Alphabet,
    string? Classifier,
    bool? Deterministic,
    long? TtlSeconds,
    JsonElement? Metadata);

/// <summary>POST /v1/tokens/batch body.</summary>
public sealed record BatchCreateRequest(IReadOnlyList<CreateTokenRequest?>? Items);

/// <summary>A created token (the value is never echoed).</summary>
public sealed record TokenCreated(string Token, string Format, string? Alphabet, string Classifier, string Mask, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>POST /v1/tokens/batch response, in request order.</summary>
public sealed record BatchCreated(IReadOnlyList<TokenCreated> Items);

/// <summary>GET /v1/tokens/{token}: metadata and mask, never the value.</summary>
public sealed record TokenInfo(
    string Token,
    string Format,
    string? Alphabet,
    string Classifier,
    string Mask,
    bool Deterministic,
    int KeyVersion,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    JsonElement? Metadata);

/// <summary>POST /v1/tokens/{token}/reveal response.</summary>
public sealed record RevealedValue(string Value);

/// <summary>POST /v1/tokens/search body.</summary>
public sealed record SearchRequest(string? Value);

/// <summary>POST /v1/tokens/search response.</summary>
public sealed record SearchResult(IReadOnlyList<TokenInfo> Tokens);
