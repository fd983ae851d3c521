using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// The scope table: which key opens which route. Tenant routes need a tenant key holding the route's
/// scope; admin routes need the admin key; anything else is 401 (no valid key) or 403 (wrong key).
/// </summary>
public sealed class ScopeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    /// <summary>Tenant routes and the scope each needs.</summary>
    public static TheoryData<string, string> TenantRoutes => new()
    {
        { "create", "tokens:write" },
        { "batch", "tokens:write" },
        { "get", "tokens:write" },
        { "delete", "tokens:write" },
        { "search", "tokens:search" },
        { "reveal", "tokens:reveal" },
    };

    public static TheoryData<string> AdminRoutes => new() { "create-tenant", "create-apikey", "revoke-apikey", "rotate-datakey" };

    public static TheoryData<string, string> TenantRoutesWithBadKeys => Cross(["create", "batch", "get", "delete", "search", "reveal"]);

    public static TheoryData<string, string> AdminRoutesWithBadKeys => Cross(["create-tenant", "create-apikey", "revoke-apikey", "rotate-datakey"]);

    [Theory]
    [MemberData(nameof(TenantRoutes))]
    public async Task TenantRoute_KeyWithEveryOtherScope_Gets403NamingTheMissingScope(string route, string scope)
    {
        var tenant = await _server.CreateTenantAsync();
        var (_, key) = await _server.CreateApiKeyAsync(tenant.Id, [.. TestServer.AllTenantScopes.Where(s => s != scope)]);

        var problem = ProblemAssert.Is(await CallTenantRouteAsync(route, tenant, key), 403, "missing-scope");

        Assert.Equal(scope, problem.GetProperty("scope").GetString());
        Assert.Contains(scope, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TenantRoutes))]
    public async Task TenantRoute_KeyWithOnlyThatScope_IsAdmitted(string route, string scope)
    {
        var tenant = await _server.CreateTenantAsync();
        var (_, key) = await _server.CreateApiKeyAsync(tenant.Id, scope);

        var response = await CallTenantRouteAsync(route, tenant, key);

        Assert.True(response.IsSuccess, $"{route} with a {scope}-only key: {response.StatusCode} {response.Body}");
    }

    [Theory]
    [MemberData(nameof(TenantRoutes))]
    public async Task TenantRoute_AdminKey_Gets403(string route, string scope)
    {
        _ = scope;
        var tenant = await _server.CreateTenantAsync();
        ProblemAssert.Is(await CallTenantRouteAsync(route, tenant, _server.AdminKey), 403, "missing-scope");
    }

    [Theory]
    [MemberData(nameof(TenantRoutesWithBadKeys))]
    public async Task TenantRoute_MissingGarbageOrRevokedKey_Gets401(string route, string badKey)
    {
        var tenant = await _server.CreateTenantAsync();
        var key = await BadKeyAsync(badKey, tenant);
        ProblemAssert.Is(await CallTenantRouteAsync(route, tenant, key), 401, "unauthorized");
    }

    [Theory]
    [MemberData(nameof(AdminRoutes))]
    public async Task AdminRoute_TenantKeyWithEveryTenantScope_Gets403(string route)
    {
        var tenant = await _server.CreateTenantAsync();
        ProblemAssert.Is(await CallAdminRouteAsync(route, tenant, tenant.Key), 403, "missing-scope");
        ProblemAssert.Is(await CallAdminRouteAsync(route, tenant, _server.DefaultTenant.Key), 403, "missing-scope");
    }

    [Theory]
    [MemberData(nameof(AdminRoutes))]
    public async Task AdminRoute_AdminKey_IsAdmitted(string route)
    {
        var tenant = await _server.CreateTenantAsync();
        var response = await CallAdminRouteAsync(route, tenant, _server.AdminKey);
        Assert.True(response.IsSuccess, $"{route} with the admin key: {response.StatusCode} {response.Body}");
    }

    [Theory]
    [MemberData(nameof(AdminRoutesWithBadKeys))]
    public async Task AdminRoute_MissingGarbageOrRevokedKey_Gets401(string route, string badKey)
    {
        var tenant = await _server.CreateTenantAsync();
        var key = await BadKeyAsync(badKey, tenant);
        ProblemAssert.Is(await CallAdminRouteAsync(route, tenant, key), 401, "unauthorized");
    }

    [Fact]
    public async Task RevokedKey_StopsWorkingAtOnce_OtherKeysOfTheTenantKeepWorking()
    {
        var tenant = await _server.CreateTenantAsync();
        var (otherId, other) = await _server.CreateApiKeyAsync(tenant.Id);
        var token = await _server.CreateTokenAsync(tenant.Key, new { value = "kept" });
        Assert.Equal("kept", await _server.RevealValueAsync(tenant.Key, token));

        await _server.RevokeApiKeyAsync(tenant.Id, tenant.KeyId!);

        ProblemAssert.Is(await _server.RevealAsync(tenant.Key, token), 401, "unauthorized");
        Assert.Equal("kept", await _server.RevealValueAsync(other, token));
        Assert.NotEqual(tenant.KeyId, otherId);
    }

    [Fact]
    public async Task ApiKey_IsReturnedOnce_WithTheScopesItHolds()
    {
        var tenant = await _server.CreateTenantAsync();
        var created = (await _server.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant.Id}/apikeys", _server.AdminKey, TestServer.Json(new { scopes = new[] { "tokens:reveal", "tokens:write", "tokens:reveal" } }))).Expect(201);
        var scopes = created.Json.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["tokens:reveal", "tokens:write"], scopes);
        Assert.StartsWith("ck_", created.Text("key"), StringComparison.Ordinal);
        Assert.DoesNotContain(created.Text("key"), created.Text("id"), StringComparison.Ordinal);
    }

    private async Task<string?> BadKeyAsync(string kind, TenantHandle tenant)
    {
        switch (kind)
        {
            case "missing":
                return null;
            case "garbage":
                return "not-a-key";
            case "well-formed-unknown":
                return "ck_111111111111_11111111111111111111111111111111111111111111";
            default:
                var (id, key) = await _server.CreateApiKeyAsync(tenant.Id);
                await _server.RevokeApiKeyAsync(tenant.Id, id);
                return key;
        }
    }

    /// <summary>Calls a tenant route with a valid request; tokens it needs are made with the tenant's full key.</summary>
    private async Task<ApiResponse> CallTenantRouteAsync(string route, TenantHandle tenant, string? key)
    {
        switch (route)
        {
            case "create":
                return await _server.SendAsync(HttpMethod.Post, "/v1/tokens", key, TestServer.Json(new { value = "scoped" }));
            case "batch":
                return await _server.SendAsync(HttpMethod.Post, "/v1/tokens/batch", key, TestServer.Json(new { items = new[] { new { value = "scoped" } } }));
            case "search":
                return await _server.SendAsync(HttpMethod.Post, "/v1/tokens/search", key, TestServer.Json(new { value = "scoped" }));
            default:
                var token = await _server.CreateTokenAsync(tenant.Key, new { value = "scoped" });
                return route switch
                {
                    "get" => await _server.SendAsync(HttpMethod.Get, TestServer.TokenPath(token), key),
                    "delete" => await _server.SendAsync(HttpMethod.Delete, TestServer.TokenPath(token), key),
                    "reveal" => await _server.SendAsync(HttpMethod.Post, TestServer.TokenPath(token) + "/reveal", key),
                    _ => throw new ArgumentOutOfRangeException(nameof(route)),
                };
        }
    }

    /// <summary>Calls an admin route with a valid request about <paramref name="tenant"/>.</summary>
    private async Task<ApiResponse> CallAdminRouteAsync(string route, TenantHandle tenant, string? key)
    {
        switch (route)
        {
            case "create-tenant":
                return await _server.SendAsync(HttpMethod.Post, "/v1/tenants", key, TestServer.Json(new { name = "scoped" }));
            case "create-apikey":
                return await _server.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant.Id}/apikeys", key, TestServer.Json(new { scopes = new[] { "tokens:write" } }));
            case "revoke-apikey":
                var (keyId, _) = await _server.CreateApiKeyAsync(tenant.Id, "tokens:write");
                return await _server.SendAsync(HttpMethod.Delete, $"/v1/tenants/{tenant.Id}/apikeys/{keyId}", key);
            case "rotate-datakey":
                return await _server.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant.Id}/datakeys/rotate", key);
            default:
                throw new ArgumentOutOfRangeException(nameof(route));
        }
    }

    private static TheoryData<string, string> Cross(string[] routes)
    {
        var data = new TheoryData<string, string>();
        foreach (var route in routes)
        {
            foreach (var kind in new[] { "missing", "garbage", "well-formed-unknown", "revoked" })
            {
                data.Add(route, kind);
            }
        }

        return data;
    }
}
