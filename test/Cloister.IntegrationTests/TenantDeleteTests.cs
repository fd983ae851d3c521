using Cloister.IntegrationTests.Support;
using Cloister.Protocol;
using Cloister.Storage;

namespace Cloister.IntegrationTests;

/// <summary>
/// DELETE /v1/tenants/{id} and data-key retirement through the router with the in-process worker and key broker:
/// what the store keeps, what authenticates afterwards, what reveals, and the outbox when the worker cannot confirm.
/// </summary>
public sealed class TenantDeleteTests
{
    [Fact]
    public async Task DeleteTenant_ItsKeysStopAuthenticating_ItsTokensRevealToNoOne_AndOthersAreUntouched()
    {
        await using var server = await TestServer.StartAsync();
        var doomed = await server.CreateTenantAsync();
        var (_, secondKey) = await server.CreateApiKeyAsync(doomed.Id, "tokens:reveal");
        var other = await server.CreateTenantAsync();
        var token = await server.CreateTokenAsync(doomed.Key, new { value = "doomed-secret" });
        var fpe = await server.CreateTokenAsync(doomed.Key, new { value = "4111111111111111", format = "fpe" });
        var othersToken = await server.CreateTokenAsync(other.Key, new { value = "other-secret" });
        Assert.Equal("doomed-secret", await server.RevealValueAsync(doomed.Key, token));

        ProblemAssert.Is(await server.SendAsync(HttpMethod.Delete, $"/v1/tenants/{doomed.Id}", doomed.Key), 403, "missing-scope");
        var deleted = (await server.SendAsync(HttpMethod.Delete, $"/v1/tenants/{doomed.Id}", server.AdminKey)).Expect(200).Json;

        Assert.Equal(doomed.Id, deleted.GetProperty("id").GetString());
        Assert.Equal(2, deleted.GetProperty("tokens").GetInt32());
        Assert.Equal(2, deleted.GetProperty("apiKeys").GetInt32());
        Assert.Equal(3, deleted.GetProperty("wrappedKeys").GetInt32());
        Assert.True(deleted.GetProperty("keysShredded").GetBoolean());
        foreach (var key in new[] { doomed.Key, secondKey })
        {
            ProblemAssert.Is(await server.RevealAsync(key, token), 401, "unauthorized");
            ProblemAssert.Is(await server.RevealAsync(key, fpe), 401, "unauthorized");
        }

        ProblemAssert.Is(await server.RevealAsync(other.Key, token), 404, "token-not-found");
        ProblemAssert.Is(await server.RevealAsync(server.AdminKey, token), 403, "missing-scope");
        Assert.Equal("other-secret", await server.RevealValueAsync(other.Key, othersToken));
        ProblemAssert.Is(await server.SendAsync(HttpMethod.Delete, $"/v1/tenants/{doomed.Id}", server.AdminKey), 404, "tenant-not-found");
        ProblemAssert.Is(await server.SendAsync(HttpMethod.Post, $"/v1/tenants/{doomed.Id}/apikeys", server.AdminKey, TestServer.Json(new { scopes = new[] { "tokens:reveal" } })), 404, "tenant-not-found");

        // The audit log keeps the tenant's entries, the deletion, and the worker's and broker's confirmation.
        var actions = VaultDatabase.Query(server.DataDirectory, "SELECT action FROM audit WHERE tenant_id = $t ORDER BY seq", ("$t", doomed.Id)).Select(r => (string)r[0]!).ToList();
        Assert.Contains("token.create", actions);
        Assert.Equal(["tenant.delete", "tenant.keys.shredded"], actions[^2..]);
        Assert.Empty(VaultDatabase.Query(server.DataDirectory, "SELECT 1 FROM pending_shreds"));
        Assert.True(AuditVerifier.Verify(server.DataDirectory).Ok);
    }

    [Fact]
    public async Task DeleteTenant_WhileTheWorkerCannotConfirm_IsDoneInTheStore_AndTheRouterKeepsTryingUntilItDoes()
    {
        var unreachable = true;
        await using var server = await TestServer.StartAsync(wrapEnclave: inner => new FaultyForgets(inner, () => unreachable));
        var doomed = await server.CreateTenantAsync();
        var token = await server.CreateTokenAsync(doomed.Key, new { value = "doomed-secret" });

        var deleted = (await server.SendAsync(HttpMethod.Delete, $"/v1/tenants/{doomed.Id}", server.AdminKey)).Expect(200).Json;

        Assert.False(deleted.GetProperty("keysShredded").GetBoolean());
        ProblemAssert.Is(await server.RevealAsync(doomed.Key, token), 401, "unauthorized");
        Assert.Empty(VaultDatabase.Query(server.DataDirectory, "SELECT 1 FROM wrapped_keys WHERE tenant_id = $t", ("$t", doomed.Id)));
        Assert.Single(VaultDatabase.Query(server.DataDirectory, "SELECT 1 FROM pending_shreds WHERE tenant_id = $t", ("$t", doomed.Id)));

        unreachable = false;
        for (var i = 0; i < 300 && VaultDatabase.Query(server.DataDirectory, "SELECT 1 FROM pending_shreds").Count > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(VaultDatabase.Query(server.DataDirectory, "SELECT 1 FROM pending_shreds"));
        Assert.Single(VaultDatabase.Query(server.DataDirectory, "SELECT 1 FROM audit WHERE tenant_id = $t AND action = 'tenant.keys.shredded'", ("$t", doomed.Id)));
    }

    [Fact]
    public async Task RetireDataKey_OnlyOnceNothingUsesIt_ThenItsTokensMovedToTheNewVersionStillReveal()
    {
        await using var server = await TestServer.StartAsync();
        var tenant = await server.CreateTenantAsync();
        var old = await server.CreateTokenAsync(tenant.Key, new { value = "under-version-1" });
        var rotated = await server.RotateAsync(tenant.Id);

        ProblemAssert.Is(await server.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant.Id}/datakeys/{rotated}/retire", server.AdminKey), 409, "datakey-current");
        ProblemAssert.Is(await server.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant.Id}/datakeys/7/retire", server.AdminKey), 404, "datakey-not-found");
        ProblemAssert.Is(await server.SendAsync(HttpMethod.Post, "/v1/tenants/ten_nobody/datakeys/1/retire", server.AdminKey), 404, "tenant-not-found");
        await server.Host.ReencryptNowAsync(CancellationToken.None);

        var retired = (await server.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant.Id}/datakeys/1/retire", server.AdminKey)).Expect(200).Json;

        Assert.Equal(1, retired.GetProperty("version").GetInt32());
        Assert.True(retired.GetProperty("keysShredded").GetBoolean());
        Assert.Equal("under-version-1", await server.RevealValueAsync(tenant.Key, old));
        Assert.Equal("after", await server.RevealValueAsync(tenant.Key, await server.CreateTokenAsync(tenant.Key, new { value = "after" })));
        Assert.DoesNotContain(VaultDatabase.Query(server.DataDirectory, "SELECT version FROM wrapped_keys WHERE tenant_id = $t AND purpose = 'data'", ("$t", tenant.Id)), row => (long)row[0]! == 1);
        ProblemAssert.Is(await server.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant.Id}/datakeys/1/retire", server.AdminKey), 404, "datakey-not-found");
        Assert.Equal(["datakey.retire", "datakey.shredded"], VaultDatabase.Query(server.DataDirectory, "SELECT action FROM audit WHERE tenant_id = $t AND action LIKE 'datakey.%' AND action <> 'datakey.rotate' AND action <> 'datakey.reencrypt' ORDER BY seq", ("$t", tenant.Id)).Select(r => (string)r[0]!));
    }

    /// <summary>Fault injection: while <c>unreachable</c> says so, forget and retire frames find no worker.</summary>
    private sealed class FaultyForgets(IFrameTransport inner, Func<bool> unreachable) : IFrameTransport
    {
        public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
            => unreachable() && Frames.Enclave.DecodeRequest(request.Span) is ForgetTenantRequest or RetireDataKeyRequest
                ? throw new TransportUnavailableException("fault injection: the worker is unreachable")
                : inner.SendAsync(request, cancellationToken);
    }
}
