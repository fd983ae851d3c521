namespace Cloister.Storage.Tests;

public sealed class TenantAndApiKeyTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task CreateTenant_StoresTenantKeysAndOneAuditEntry()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");

        var tenant = await h.S.GetTenantAsync("ten_a", None);
        Assert.Equal(Make.Tenant("ten_a"), tenant);
        var keys = await h.S.GetWrappedKeysAsync("ten_a", None);
        Assert.Equal(2, keys.Count);
        Assert.Equal("data", keys[0].Purpose);
        Assert.Equal(Make.Key("ten_a").Blob, keys[0].Blob);
        Assert.Equal("fingerprint", keys[1].Purpose);
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'tenant.create'"));
    }

    [Fact]
    public async Task GetTenant_Unknown_ReturnsNull()
    {
        await using var h = await StoreHarness.OpenAsync();
        Assert.Null(await h.S.GetTenantAsync("ten_missing", None));
        Assert.Empty(await h.S.GetWrappedKeysAsync("ten_missing", None));
    }

    [Fact]
    public async Task CreateTenant_DuplicateId_ThrowsConflictAndLeavesNoTrace()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");

        await Assert.ThrowsAsync<VaultStoreConflictException>(() => Make.CreateTenantAsync(h.S, "ten_a"));

        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit"));
        Assert.Equal(2, h.Scalar("SELECT count(*) FROM wrapped_keys"));
        Assert.True(AuditVerifier.Verify(h.Directory).Ok);
    }

    [Fact]
    public async Task AddDataKeyVersion_NextVersion_BecomesCurrent()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");

        Assert.True(await h.S.AddDataKeyVersionAsync(Make.Key("ten_a", version: 2), Make.Audit("ten_a", "datakey.rotate", "ten_a"), None));

        Assert.Equal(2, (await h.S.GetTenantAsync("ten_a", None))!.CurrentDataKeyVersion);
        Assert.Contains(await h.S.GetWrappedKeysAsync("ten_a", None), k => k.Purpose == "data" && k.Version == 2);
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'datakey.rotate'"));
    }

    [Fact]
    public async Task AddDataKeyVersion_NotCurrentPlusOne_ReturnsFalseWithoutChangeOrAudit()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        Assert.True(await h.S.AddDataKeyVersionAsync(Make.Key("ten_a", version: 2), Make.Audit("ten_a", "datakey.rotate"), None));

        // A second rotation that also read version 1 loses the race; skipping a version is refused too.
        Assert.False(await h.S.AddDataKeyVersionAsync(Make.Key("ten_a", version: 2), Make.Audit("ten_a", "datakey.rotate"), None));
        Assert.False(await h.S.AddDataKeyVersionAsync(Make.Key("ten_a", version: 4), Make.Audit("ten_a", "datakey.rotate"), None));
        Assert.False(await h.S.AddDataKeyVersionAsync(Make.Key("ten_missing", version: 2), Make.Audit("ten_missing", "datakey.rotate"), None));

        Assert.Equal(2, (await h.S.GetTenantAsync("ten_a", None))!.CurrentDataKeyVersion);
        Assert.Equal(3, (await h.S.GetWrappedKeysAsync("ten_a", None)).Count);
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'datakey.rotate'"));
    }

    [Fact]
    public async Task AddDataKeyVersion_ConcurrentRotations_ExactlyOneWins()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Task.Run(() => h.S.AddDataKeyVersionAsync(Make.Key("ten_a", version: 2), Make.Audit("ten_a", "datakey.rotate"), None))));

        Assert.Single(results, r => r);
        Assert.Equal(2, (await h.S.GetTenantAsync("ten_a", None))!.CurrentDataKeyVersion);
    }

    [Fact]
    public async Task CreateApiKey_RoundTripsTenantAndAdminKeys()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        var tenantKey = new ApiKeyRecord("key_t", "ten_a", [1, 2, 3], ["tokens:write", "tokens:reveal"], StoreHarness.Start, null);
        var adminKey = new ApiKeyRecord("key_admin", null, [9, 9], ["admin"], StoreHarness.Start, null);

        await h.S.CreateApiKeyAsync(tenantKey, Make.Audit("ten_a", "apikey.create", "key_t"), None);
        await h.S.CreateApiKeyAsync(adminKey, Make.Audit(null, "apikey.create", "key_admin"), None);

        var loaded = await h.S.GetApiKeyAsync("key_t", None);
        Assert.NotNull(loaded);
        Assert.Equal("ten_a", loaded.TenantId);
        Assert.Equal(tenantKey.SecretHash, loaded.SecretHash);
        Assert.Equal(tenantKey.Scopes, loaded.Scopes);
        Assert.Equal(StoreHarness.Start, loaded.CreatedAt);
        Assert.Null(loaded.RevokedAt);
        Assert.Null((await h.S.GetApiKeyAsync("key_admin", None))!.TenantId);
        Assert.Null(await h.S.GetApiKeyAsync("key_missing", None));
        Assert.Equal(2, h.Scalar("SELECT count(*) FROM audit WHERE action = 'apikey.create'"));
    }

    [Fact]
    public async Task ListApiKeys_ReturnsAdminAndTenantKeys_OldestFirst_WithTheirRevocation()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_t", "ten_a", [1], ["tokens:write"], StoreHarness.Start.AddSeconds(1), null), Make.Audit("ten_a", "apikey.create", "key_t"), None);
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_admin", null, [2], ["admin"], StoreHarness.Start, null), Make.Audit(null, "apikey.create", "key_admin"), None);
        await h.S.RevokeApiKeyAsync("ten_a", "key_t", StoreHarness.Start.AddSeconds(2), Make.Audit("ten_a", "apikey.revoke", "key_t"), None);

        var keys = await h.S.ListApiKeysAsync(None);

        Assert.Equal(["key_admin", "key_t"], keys.Select(k => k.Id));
        Assert.Equal([null, "ten_a"], keys.Select(k => k.TenantId));
        Assert.Equal([null, StoreHarness.Start.AddSeconds(2)], keys.Select(k => k.RevokedAt));
        Assert.Equal(["tokens:write"], keys[1].Scopes);
    }

    [Fact]
    public async Task CreateApiKey_DuplicateId_ThrowsConflict()
    {
        await using var h = await StoreHarness.OpenAsync();
        var key = new ApiKeyRecord("key_admin", null, [9], ["admin"], StoreHarness.Start, null);
        await h.S.CreateApiKeyAsync(key, Make.Audit(null, "apikey.create", "key_admin"), None);

        await Assert.ThrowsAsync<VaultStoreConflictException>(() => h.S.CreateApiKeyAsync(key, Make.Audit(null, "apikey.create", "key_admin"), None));
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit"));
    }

    [Fact]
    public async Task CreateApiKey_UnknownTenant_ThrowsStoreExceptionAndLeavesNoTrace()
    {
        await using var h = await StoreHarness.OpenAsync();
        var key = new ApiKeyRecord("key_t", "ten_missing", [1], ["tokens:write"], StoreHarness.Start, null);

        await Assert.ThrowsAsync<VaultStoreException>(() => h.S.CreateApiKeyAsync(key, Make.Audit("ten_missing", "apikey.create", "key_t"), None));
        Assert.Null(await h.S.GetApiKeyAsync("key_t", None));
        Assert.Equal(0, h.Scalar("SELECT count(*) FROM audit"));
    }

    [Fact]
    public async Task RevokeApiKey_OwnKey_SetsRevokedAtOnce()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_t", "ten_a", [1], ["tokens:write"], StoreHarness.Start, null), Make.Audit("ten_a", "apikey.create"), None);
        var at = StoreHarness.Start.AddMinutes(5);

        Assert.True(await h.S.RevokeApiKeyAsync("ten_a", "key_t", at, Make.Audit("ten_a", "apikey.revoke", "key_t"), None));
        Assert.False(await h.S.RevokeApiKeyAsync("ten_a", "key_t", at.AddMinutes(1), Make.Audit("ten_a", "apikey.revoke", "key_t"), None));

        Assert.Equal(at, (await h.S.GetApiKeyAsync("key_t", None))!.RevokedAt);
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'apikey.revoke'"));
    }

    [Fact]
    public async Task RevokeAdminKeys_EachOtherAtOnce_LeavesOneActive()
    {
        for (var round = 0; round < 20; round++)
        {
            await using var h = await StoreHarness.OpenAsync();
            var (a, b) = ($"key_a{round}", $"key_b{round}");
            foreach (var id in new[] { a, b })
            {
                await h.S.CreateApiKeyAsync(new ApiKeyRecord(id, null, [1], ["admin"], StoreHarness.Start, null), Make.Audit(null, "apikey.create"), None);
            }

            // Each revokes the other, concurrently: exactly one revocation may win.
            var results = await Task.WhenAll(
                Task.Run(() => h.S.RevokeApiKeyAsync(null, a, StoreHarness.Start, Make.Audit(null, "apikey.revoke", a), None)),
                Task.Run(() => h.S.RevokeApiKeyAsync(null, b, StoreHarness.Start, Make.Audit(null, "apikey.revoke", b), None)));

            Assert.Single(results, revoked => revoked);
            Assert.Equal(1, h.Scalar("SELECT count(*) FROM api_keys WHERE tenant_id IS NULL AND revoked_at IS NULL"));
            Assert.False(await h.S.RevokeApiKeyAsync(null, (await ActiveAdminAsync(h)).Id, StoreHarness.Start, Make.Audit(null, "apikey.revoke"), None));
            await h.S.CreateApiKeyAsync(new ApiKeyRecord($"key_c{round}", null, [1], ["admin"], StoreHarness.Start, null), Make.Audit(null, "apikey.create"), None);
            Assert.True(await h.S.RevokeApiKeyAsync(null, $"key_c{round}", StoreHarness.Start, Make.Audit(null, "apikey.revoke"), None));
        }
    }

    private static async Task<ApiKeyRecord> ActiveAdminAsync(StoreHarness h)
        => (await h.S.ListApiKeysAsync(None)).Single(k => k.TenantId is null && k.RevokedAt is null);

    [Fact]
    public async Task RevokeApiKey_OtherTenantsKey_ReturnsFalse()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await Make.CreateTenantAsync(h.S, "ten_b");
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_a", "ten_a", [1], ["tokens:write"], StoreHarness.Start, null), Make.Audit("ten_a", "apikey.create"), None);

        Assert.False(await h.S.RevokeApiKeyAsync("ten_b", "key_a", StoreHarness.Start, Make.Audit("ten_b", "apikey.revoke", "key_a"), None));
        Assert.Null((await h.S.GetApiKeyAsync("key_a", None))!.RevokedAt);
    }

    [Fact]
    public async Task SchemaThreeDatabase_KeysWithWriteAndReveal_GainTheSearchScopeOnce_Audited()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await Make.CreateTenantAsync(h.S, "ten_b");
        string[] everything = ["tokens:write", "tokens:reveal", "functions:deploy", "functions:invoke", "attestation"];
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_all", "ten_a", [1], everything, StoreHarness.Start, null), Make.Audit("ten_a", "apikey.create"), None);
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_rw", "ten_b", [1], ["tokens:reveal", "tokens:write"], StoreHarness.Start, null), Make.Audit("ten_b", "apikey.create"), None);
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_w", "ten_a", [1], ["tokens:write"], StoreHarness.Start, null), Make.Audit("ten_a", "apikey.create"), None);
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_admin", null, [1], ["admin"], StoreHarness.Start, null), Make.Audit(null, "apikey.create"), None);

        // As a database written before search had its own scope.
        await h.CloseAsync();
        h.Tamper("PRAGMA user_version = 3");
        await h.ReopenAsync();

        Assert.Equal([.. everything, "tokens:search"], (await h.S.GetApiKeyAsync("key_all", None))!.Scopes);
        Assert.Equal(["tokens:reveal", "tokens:write", "tokens:search"], (await h.S.GetApiKeyAsync("key_rw", None))!.Scopes);
        Assert.Equal(["tokens:write"], (await h.S.GetApiKeyAsync("key_w", None))!.Scopes);
        Assert.Equal(["admin"], (await h.S.GetApiKeyAsync("key_admin", None))!.Scopes);
        Assert.Equal(SqliteSchema.CurrentVersion, h.Scalar("PRAGMA user_version"));
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'apikey.scopes.migrate' AND tenant_id = 'ten_a' AND targets = '[\"key_all\"]'"));
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'apikey.scopes.migrate' AND tenant_id = 'ten_b' AND targets = '[\"key_rw\"]'"));

        // Once: a key created later without the scope keeps its scopes across reopens.
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_later", "ten_a", [1], ["tokens:write", "tokens:reveal"], StoreHarness.Start, null), Make.Audit("ten_a", "apikey.create"), None);
        await h.ReopenAsync();
        Assert.Equal(["tokens:write", "tokens:reveal"], (await h.S.GetApiKeyAsync("key_later", None))!.Scopes);
        Assert.Equal(2, h.Scalar("SELECT count(*) FROM audit WHERE action = 'apikey.scopes.migrate'"));
        Assert.True(AuditVerifier.Verify(h.Directory).Ok);
    }

    [Fact]
    public async Task Bootstrap_StoresTenantKeysAndAuditTogether()
    {
        await using var h = await StoreHarness.OpenAsync();
        Assert.False(await h.S.HasApiKeysAsync(None));

        await h.S.BootstrapAsync(
            Make.Tenant("ten_default"),
            [Make.Key("ten_default")],
            [new ApiKeyRecord("key_admin", null, [1], ["admin"], StoreHarness.Start, null), new ApiKeyRecord("key_tenant", "ten_default", [2], ["tokens:write"], StoreHarness.Start, null)],
            [Make.Audit(null, "apikey.create", "key_admin"), Make.Audit("ten_default", "tenant.create", "ten_default"), Make.Audit("ten_default", "apikey.create", "key_tenant")],
            None);

        Assert.True(await h.S.HasApiKeysAsync(None));
        Assert.NotNull(await h.S.GetTenantAsync("ten_default", None));
        Assert.Equal("ten_default", (await h.S.GetApiKeyAsync("key_tenant", None))!.TenantId);
        Assert.Equal(3, h.Scalar("SELECT count(*) FROM audit"));
    }

    [Fact]
    public async Task Bootstrap_FailingOnItsLastRow_StoresNothing()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_taken", "ten_a", [1], ["tokens:write"], StoreHarness.Start, null), Make.Audit("ten_a", "apikey.create"), None);
        var entries = h.Scalar("SELECT count(*) FROM audit");

        await Assert.ThrowsAsync<VaultStoreConflictException>(() => h.S.BootstrapAsync(
            Make.Tenant("ten_default"),
            [Make.Key("ten_default")],
            [new ApiKeyRecord("key_admin", null, [1], ["admin"], StoreHarness.Start, null), new ApiKeyRecord("key_taken", "ten_default", [2], ["tokens:write"], StoreHarness.Start, null)],
            [Make.Audit(null, "apikey.create", "key_admin")],
            None));

        Assert.Null(await h.S.GetTenantAsync("ten_default", None));
        Assert.Null(await h.S.GetApiKeyAsync("key_admin", None));
        Assert.Equal(entries, h.Scalar("SELECT count(*) FROM audit"));
    }
}
