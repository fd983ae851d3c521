namespace Cloister.Server.Auth;

/// <summary>API key scopes. Tenant keys hold tenant scopes; the admin key holds <see cref="Admin"/> only.</summary>
public static class Scopes
{
    public const string TokensWrite = ScopeNames.TokensWrite;
    public const string TokensReveal = ScopeNames.TokensReveal;

    /// <summary>Search by value: an oracle for guessed values, so it is granted on its own and rate-limited per key.</summary>
    public const string TokensSearch = ScopeNames.TokensSearch;
    public const string FunctionsDeploy = ScopeNames.FunctionsDeploy;
    public const string FunctionsInvoke = ScopeNames.FunctionsInvoke;
    public const string Attestation = ScopeNames.Attestation;
    public const string Admin = ScopeNames.Admin;

    /// <summary>Every scope a tenant key may hold.</summary>
    public static readonly IReadOnlyList<string> Tenant = [TokensWrite, TokensReveal, TokensSearch, FunctionsDeploy, FunctionsInvoke, Attestation];
}
