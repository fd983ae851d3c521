using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace Cloister.Api.Contracts;

/// <summary>The token formats and fpe alphabets a request may name (docs/api.md, "Token formats").</summary>
public static class TokenFormatNames
{
    public const string Random = "random";
    public const string Numeric = "numeric";
    public const string Pan = "pan";
    public const string PanLast4 = "pan-last4";
    public const string SsnLast4 = "ssn-last4";
    public const string Fpe = "fpe";

    /// <summary>The fpe alphabet when a request names none.</summary>
    public const string Digits = "digits";
    public const string LowerAlnum = "lower-alnum";
    public const string Alnum = "alnum";
}

/// <summary>Names a token format: documents the property's values (the router checks them, with its own problem types).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class TokenFormatAttribute() : AllowedValuesAttribute(
    TokenFormatNames.Random, TokenFormatNames.Numeric, TokenFormatNames.Pan, TokenFormatNames.PanLast4, TokenFormatNames.SsnLast4, TokenFormatNames.Fpe);

/// <summary>Names an fpe alphabet: documents the property's values.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class FpeAlphabetAttribute() : AllowedValuesAttribute(TokenFormatNames.Digits, TokenFormatNames.LowerAlnum, TokenFormatNames.Alnum);

/// <summary>POST /v1/tokens body (and one item of a batch).</summary>
/// <param name="Value">The value to tokenize (never echoed back).</param>
/// <param name="Format">How the token looks; <c>random</c> when absent.</param>
/// <param name="Alphabet">For <c>fpe</c> only: the characters encrypted; <c>digits</c> when absent.</param>
/// <param name="Classifier">A label of the value's kind (e.g. <c>card</c>); <c>generic</c> when absent.</param>
/// <param name="Deterministic">The same value gets the same token; false when absent (fpe is always deterministic).</param>
/// <param name="TtlSeconds">Seconds until the token expires; never when absent.</param>
/// <param name="Metadata">A JSON object stored in the clear beside the token (at most 4,096 bytes).</param>
public sealed record CreateTokenRequest(
    string Value,
    [property: TokenFormat] string? Format = null,
    [property: FpeAlphabet] string? Alphabet = null,
    string? Classifier = null,
    bool? Deterministic = null,
    long? TtlSeconds = null,
    JsonElement? Metadata = null);

/// <summary>POST /v1/tokens/batch body.</summary>
/// <param name="Items">The values to tokenize, created all or none.</param>
public sealed record BatchCreateRequest(IReadOnlyList<CreateTokenRequest> Items);

/// <summary>A created token (the value is never echoed).</summary>
/// <param name="Token">The token.</param>
/// <param name="Format">Its format.</param>
/// <param name="Alphabet">Its fpe alphabet; null for other formats.</param>
/// <param name="Classifier">Its classifier.</param>
/// <param name="Mask">What the token shows of the value (e.g. the last four digits).</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="ExpiresAt">When it expires; null for never.</param>
public sealed record TokenCreated(
    string Token,
    [property: TokenFormat] string Format,
    [property: FpeAlphabet] string? Alphabet,
    string Classifier,
    string Mask,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt);

/// <summary>POST /v1/tokens/batch and POST /v1/sealed/tokens response, in request order.</summary>
public sealed record BatchCreated(IReadOnlyList<TokenCreated> Items);

/// <summary>GET /v1/tokens/{token}: metadata and mask, never the value.</summary>
/// <param name="Token">The token.</param>
/// <param name="Format">Its format.</param>
/// <param name="Alphabet">Its fpe alphabet; null for other formats.</param>
/// <param name="Classifier">Its classifier.</param>
/// <param name="Mask">What the token shows of the value.</param>
/// <param name="Deterministic">Whether the same value gets the same token.</param>
/// <param name="KeyVersion">The tenant data-key version that encrypts the value.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="ExpiresAt">When it expires; null for never.</param>
/// <param name="Metadata">The metadata object given at creation; null when none was.</param>
public sealed record TokenInfo(
    string Token,
    [property: TokenFormat] string Format,
    [property: FpeAlphabet] string? Alphabet,
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
/// <param name="Value">The value to look for (compared by fingerprint).</param>
public sealed record SearchRequest(string Value);

/// <summary>POST /v1/tokens/search response.</summary>
public sealed record SearchResult(IReadOnlyList<TokenInfo> Tokens);
