using Cloister.Server.Auth;
using Cloister.Server.Http;
using Cloister.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cloister.Server.Tenants;

/// <summary>Admin routes: /v1/tenants (create, delete, API keys, data-key rotation and retirement). A tenant key gets 403 here.</summary>
internal static class TenantEndpoints
{
    public static void MapTenantEndpoints(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/v1/tenants").WithTags("Admin").RequireScope(Scopes.Admin);
        admin.MapPost("/", CreateTenantAsync).WithName("CreateTenant").WithSummary("Create a tenant")
            .Accepts<CreateTenantRequest>("application/json").ProducesBodyProblems().ProducesEnclaveProblems()
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The tenant's URL.");
        admin.MapPost("/{id}/apikeys", CreateApiKeyAsync).WithName("CreateApiKey").WithSummary("Create an API key for a tenant (the secret is shown once)")
            .Accepts<CreateApiKeyRequest>("application/json").ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound)
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The key's URL.");
        admin.MapDelete("/{id}/apikeys/{keyId}", RevokeApiKeyAsync).WithName("RevokeApiKey").WithSummary("Revoke a tenant's API key")
            .ProducesProblems(StatusCodes.Status404NotFound);
        admin.MapPost("/{id}/datakeys/rotate", RotateAsync).WithName("RotateDataKey").WithSummary("Add a data-key version; re-encryption moves the tokens to it")
            .ProducesEnclaveProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        admin.MapDelete("/{id}", DeleteTenantAsync).WithName("DeleteTenant").WithSummary("Delete a tenant and crypto-shred its keys")
            .ProducesEnclaveProblems().ProducesProblems(StatusCodes.Status404NotFound);
        admin.MapPost("/{id}/datakeys/{version:int}/retire", RetireDataKeyAsync).WithName("RetireDataKey").WithSummary("Retire (crypto-shred) a data-key version nothing uses any more")
            .ProducesEnclaveProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        // Admin keys themselves: mint a replacement, then revoke the old one with it. The listing shows every key's
        // id (admin and tenant keys), never a secret.
        var adminKeys = routes.MapGroup("/v1/admin/apikeys").WithTags("Admin").RequireScope(Scopes.Admin);
        adminKeys.MapGet("/", ListApiKeysAsync).WithName("ListApiKeys").WithSummary("List every API key (never a secret)");
        adminKeys.MapPost("/", CreateAdminKeyAsync).WithName("CreateAdminKey").WithSummary("Create an admin key (the secret is shown once)")
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The key's URL.");
        adminKeys.MapDelete("/{keyId}", RevokeAdminKeyAsync).WithName("RevokeAdminKey").WithSummary("Revoke an admin key (never the last one, nor the one in use)")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
    }

    private static async Task<Ok<ApiKeyList>> ListApiKeysAsync(HttpContext http, TenantService service)
        => TypedResults.Ok(new ApiKeyList(await service.ListApiKeysAsync(http.RequestAborted)));

    private static async Task<Created<ApiKeyCreated>> CreateAdminKeyAsync(HttpContext http, TenantService service)
    {
        var (keyId, key) = await service.CreateApiKeyAsync(null, [Scopes.Admin], ScopeFilter.CallerOf(http).KeyId, http.RequestAborted);
        return TypedResults.Created($"/v1/admin/apikeys/{keyId}", new ApiKeyCreated(keyId, key, [Scopes.Admin]));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAdminKeyAsync(string keyId, HttpContext http, TenantService service)
    {
        var caller = ScopeFilter.CallerOf(http);
        if (keyId == caller.KeyId)
        {
            // Guarantees an admin key always remains: revoke the old key with its replacement.
            return Problems.Create(StatusCodes.Status409Conflict, "revoke-own-key", "Cannot revoke the key in use", "Create another admin key and revoke this one with it.");
        }

        if (await service.RevokeApiKeyAsync(null, keyId, caller.KeyId, http.RequestAborted))
        {
            return TypedResults.NoContent();
        }

        // Not revoked although active: it was the last active admin key (the caller's own was revoked meanwhile).
        return await service.IsActiveAdminKeyAsync(keyId, http.RequestAborted)
            ? Problems.Create(StatusCodes.Status409Conflict, "last-admin-key", "Cannot revoke the last admin key", "No other admin key is active: create one before revoking this one.")
            : Problems.NotFound("apikey-not-found", "API key not found", "No such active admin key.");
    }

    private static async Task<Results<Created<TenantCreated>, ProblemHttpResult>> CreateTenantAsync(HttpContext http, TenantService service)
    {
        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.CreateTenantRequest);
        if (problem is not null)
        {
            return problem;
        }

        var name = body!.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 200)
        {
            return Problems.Invalid("'name' is required: a string of 1-200 characters.");
        }

        var tenant = await service.CreateTenantAsync(name, ScopeFilter.CallerOf(http).KeyId, http.RequestAborted);
        return TypedResults.Created($"/v1/tenants/{tenant.Id}", new TenantCreated(tenant.Id, tenant.Name));
    }

    private static async Task<Results<Created<ApiKeyCreated>, ProblemHttpResult>> CreateApiKeyAsync(string id, HttpContext http, TenantService service, TenantDirectory tenants)
    {
        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.CreateApiKeyRequest);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Scopes is null || body.Scopes.Count == 0)
        {
            return Problems.Invalid($"'scopes' must be a non-empty array of: {string.Join(", ", Scopes.Tenant)}.");
        }

        var unknown = body.Scopes.FirstOrDefault(s => !Scopes.Tenant.Contains(s));
        if (unknown is not null)
        {
            return Problems.Invalid("unknown-scope", "Unknown scope", $"'{Truncate(unknown)}' is not a tenant scope; use: {string.Join(", ", Scopes.Tenant)}.");
        }

        if (await tenants.GetAsync(id, http.RequestAborted) is null)
        {
            return TenantNotFound();
        }

        var scopes = body.Scopes.Distinct(StringComparer.Ordinal).ToList();
        var (keyId, key) = await service.CreateApiKeyAsync(id, scopes, ScopeFilter.CallerOf(http).KeyId, http.RequestAborted);
        return TypedResults.Created($"/v1/tenants/{id}/apikeys/{keyId}", new ApiKeyCreated(keyId, key, scopes));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeApiKeyAsync(string id, string keyId, HttpContext http, TenantService service)
    {
        var revoked = await service.RevokeApiKeyAsync(id, keyId, ScopeFilter.CallerOf(http).KeyId, http.RequestAborted);
        return revoked
            ? TypedResults.NoContent()
            : Problems.NotFound("apikey-not-found", "API key not found", "No such active API key in this tenant.");
    }

    private static async Task<Results<Ok<DataKeyRotated>, ProblemHttpResult>> RotateAsync(string id, HttpContext http, TenantService service, TenantDirectory tenants)
    {
        tenants.Evict(id);
        var tenant = await tenants.GetAsync(id, http.RequestAborted);
        if (tenant is null)
        {
            return TenantNotFound();
        }

        var version = await service.RotateDataKeyAsync(tenant, ScopeFilter.CallerOf(http).KeyId, http.RequestAborted);
        return version is null
            ? Problems.Create(StatusCodes.Status409Conflict, "rotation-conflict", "Rotation conflict", "Another rotation of this tenant's data key happened at the same time; retry.")
            : TypedResults.Ok(new DataKeyRotated(id, version.Value));
    }

    private static async Task<Results<Ok<TenantDeleted>, ProblemHttpResult>> DeleteTenantAsync(string id, HttpContext http, TenantService service)
    {
        var deleted = await service.DeleteTenantAsync(id, ScopeFilter.CallerOf(http).KeyId, http.RequestAborted);
        return deleted is null ? TenantNotFound() : TypedResults.Ok(deleted);
    }

    private static async Task<Results<Ok<DataKeyRetired>, ProblemHttpResult>> RetireDataKeyAsync(string id, int version, HttpContext http, TenantService service)
    {
        var (retirement, shredded) = await service.RetireDataKeyAsync(id, version, ScopeFilter.CallerOf(http).KeyId, http.RequestAborted);
        return retirement.Status switch
        {
            DataKeyRetireStatus.Retired => TypedResults.Ok(new DataKeyRetired(id, version, shredded)),
            DataKeyRetireStatus.TenantNotFound => TenantNotFound(),
            DataKeyRetireStatus.VersionNotFound => Problems.NotFound("datakey-not-found", "Data key version not found", $"The tenant has no data key version {version} (never had, or it is retired already)."),
            DataKeyRetireStatus.Current => Problems.Create(StatusCodes.Status409Conflict, "datakey-current", "Data key version is current", $"Version {version} is the tenant's current data key: rotate first ('POST /v1/tenants/{{id}}/datakeys/rotate'), let re-encryption move the tokens, then retire it."),
            _ => Problems.Create(StatusCodes.Status409Conflict, "datakey-in-use", "Data key version in use",
                $"Version {version} still protects {retirement.Tokens} tokens and {retirement.Outcomes} kept invocation outcomes, and the tenant has {retirement.RunningInvocations} running invocations: re-encryption moves tokens to the current version (after each rotation, and hourly), and outcomes expire with their invocations (24 h). Retry then."),
        };
    }

    private static ProblemHttpResult TenantNotFound() => Problems.NotFound("tenant-not-found", "Tenant not found", "No such tenant.");

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
