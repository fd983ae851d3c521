namespace Cloister.Server.Auth;

/// <summary>The authenticated caller of a request. <paramref name="TenantId"/> is null for the admin key.</summary>
public sealed record Caller(string KeyId, string? TenantId, IReadOnlySet<string> Scopes)
{
    /// <summary>The caller's tenant; only valid on tenant routes (the scope filter guarantees a tenant key).</summary>
    public string Tenant => TenantId ?? throw new InvalidOperationException("Not a tenant key.");
}
