using System.ComponentModel.DataAnnotations;

namespace Cloister.Api.Contracts;

/// <summary>The scopes an API key may hold (docs/api.md, "Scopes").</summary>
public static class ScopeNames
{
    public const string TokensWrite = "tokens:write";
    public const string TokensReveal = "tokens:reveal";

    /// <summary>Search by value: an oracle for guessed values, so it is granted on its own and rate-limited per key.</summary>
    public const string TokensSearch = "tokens:search";
    public const string FunctionsDeploy = "functions:deploy";
    public const string FunctionsInvoke = "functions:invoke";
    public const string Attestation = "attestation";
    public const string Admin = "admin";
}

/// <summary>Names a scope: documents the property's values.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class ScopeNameAttribute() : AllowedValuesAttribute(
    ScopeNames.TokensWrite, ScopeNames.TokensReveal, ScopeNames.TokensSearch, ScopeNames.FunctionsDeploy, ScopeNames.FunctionsInvoke, ScopeNames.Attestation, ScopeNames.Admin);

/// <summary>Names a scope a tenant key may hold (every scope but <c>admin</c>): documents the property's values.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class TenantScopeNameAttribute() : AllowedValuesAttribute(
    ScopeNames.TokensWrite, ScopeNames.TokensReveal, ScopeNames.TokensSearch, ScopeNames.FunctionsDeploy, ScopeNames.FunctionsInvoke, ScopeNames.Attestation);

/// <summary>POST /v1/tenants body.</summary>
/// <param name="Name">The tenant's name, 1-200 characters.</param>
public sealed record CreateTenantRequest(string Name);

/// <summary>POST /v1/tenants response.</summary>
public sealed record TenantCreated(string Id, string Name);

/// <summary>POST /v1/tenants/{id}/apikeys body.</summary>
/// <param name="Scopes">The tenant scopes the key holds (not <c>admin</c>).</param>
public sealed record CreateApiKeyRequest([property: TenantScopeName] IReadOnlyList<string> Scopes);

/// <summary>A created API key; <paramref name="Key"/> is shown only here, once.</summary>
/// <param name="Id">The key's id (what listings and revocations name).</param>
/// <param name="Key">The secret key, <c>ck_{id}_{secret}</c>: send it as <c>Authorization: Bearer</c>.</param>
/// <param name="Scopes">Its scopes.</param>
public sealed record ApiKeyCreated(string Id, string Key, [property: ScopeName] IReadOnlyList<string> Scopes);

/// <summary>POST /v1/tenants/{id}/datakeys/rotate response.</summary>
public sealed record DataKeyRotated(string TenantId, int Version);

/// <summary>DELETE /v1/tenants/{id} response: what was deleted, and whether the keys are shredded everywhere yet.</summary>
/// <param name="Id">The deleted tenant.</param>
/// <param name="Tokens">Token records deleted.</param>
/// <param name="Functions">Functions deleted (with every version).</param>
/// <param name="Invocations">Invocation records deleted.</param>
/// <param name="ApiKeys">API keys deleted (they no longer authenticate).</param>
/// <param name="WrappedKeys">Wrapped keys deleted (every data-key version, the fpe and fingerprint keys).</param>
/// <param name="KeysShredded">
/// True when the enclave worker has zeroed the tenant's keys and the key broker has recorded that it never unwraps them
/// again; false when the worker could not confirm it yet: the router keeps trying (also after a restart) and writes a
/// <c>tenant.keys.shredded</c> audit entry when it succeeds.
/// </param>
public sealed record TenantDeleted(string Id, int Tokens, int Functions, int Invocations, int ApiKeys, int WrappedKeys, bool KeysShredded);

/// <summary>POST /v1/tenants/{id}/datakeys/{version}/retire response.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="Version">The retired data-key version.</param>
/// <param name="KeysShredded">As for <see cref="TenantDeleted.KeysShredded"/> (the audit entry is <c>datakey.shredded</c>).</param>
public sealed record DataKeyRetired(string TenantId, int Version, bool KeysShredded);

/// <summary>One API key of GET /v1/admin/apikeys: never its secret (only a hash is stored) nor that hash.</summary>
/// <param name="Id">The key's id (the part of the key after <c>ck_</c> and before the next <c>_</c>).</param>
/// <param name="TenantId">The key's tenant; null for an admin key.</param>
/// <param name="Scopes">Its scopes.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="RevokedAt">When it was revoked; null while it is valid.</param>
public sealed record ApiKeyInfo(string Id, string? TenantId, [property: ScopeName] IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>GET /v1/admin/apikeys response: every key, oldest first.</summary>
public sealed record ApiKeyList(IReadOnlyList<ApiKeyInfo> Keys);
