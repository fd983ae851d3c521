namespace Cloister.Server.Auth;

/// <summary>API key scopes. Tenant keys hold tenant scopes; the admin key holds <see cref="Admin"/> only.</summary>
public static class Scopes
{
    public const string TokensWrite = "tokens:write";
    public const string TokensReveal = "tokens:reveal";
    public const string FunctionsDeploy = "functions:deploy";
    public const string FunctionsInvoke = "functions:invoke";
    public const string Attestation = "attestation";
    public const string Admin = "admin";

    /// <summary>Every scope a tenant key may hold.</summary>
    public static readonly IReadOnlyList<string> Tenant = [TokensWrite, TokensReveal, FunctionsDeploy, FunctionsInvoke, Attestation];
}
