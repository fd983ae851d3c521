namespace Cloister.Server.Tenants;

/// <summary>POST /v1/tenants body.</summary>
public sealed record CreateTenantRequest(string? Name);

/// <summary>POST /v1/tenants response.</summary>
public sealed record TenantCreated(string Id, string Name);

/// <summary>POST /v1/tenants/{id}/apikeys body.</summary>
public sealed record CreateApiKeyRequest(IReadOnlyList<string>? Scopes);

/// <summary>POST /v1/tenants/{id}/apikeys response; the key is shown only here, once.</summary>
public sealed record ApiKeyCreated(string Id, string Key, IReadOnlyList<string> Scopes);

/// <summary>POST /v1/tenants/{id}/datakeys/rotate response.</summary>
public sealed record DataKeyRotated(string TenantId, int Version);

/// <summary>One API key of GET /v1/admin/apikeys: never its secret (only a hash is stored) nor that hash.</summary>
/// <param name="Id">The key's id (the part of the key after <c>ck_</c> and before the next <c>_</c>).</param>
/// <param name="TenantId">The key's tenant; null for an admin key.</param>
/// <param name="Scopes">Its scopes.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="RevokedAt">When it was revoked; null while it is valid.</param>
public sealed record ApiKeyInfo(string Id, string? TenantId, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>GET /v1/admin/apikeys response: every key, oldest first.</summary>
public sealed record ApiKeyList(IReadOnlyList<ApiKeyInfo> Keys);
