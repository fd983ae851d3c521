namespace Cloister.Server.Auth;

/// <summary>API key scopes. Tenant keys hold tenant scopes; the admin key holds <see cref="Admin"/> only.</summary>
public static class Scopes
{
    public const string TokensWrite = "tokens:write";
    public const string TokensReveal = "tokens:reveal";

    /// <summary>Search by value: an oracle for guessed values, so it is granted on its own and rate-limited per key.</summary>
    public const string TokensSearch = "tokens:search";
    public const string FunctionsDeploy = "functions:deploy";
    public const string FunctionsInvoke = "functions:invoke";
    public const string Attestation = "attestation";
    public const string Admin = "admin";

    /// <summary>Every scope a tenant key may hold.</summary>
    public static readonly IReadOnlyList<string> Tenant = [TokensWrite, TokensReveal, TokensSearch, FunctionsDeploy, FunctionsInvoke, Attestation];
}
