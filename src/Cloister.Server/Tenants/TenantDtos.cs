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
