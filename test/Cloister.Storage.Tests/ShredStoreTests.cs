using System.Security.Cryptography;

namespace Cloister.Storage.Tests;

/// <summary>Deleting a tenant and retiring a data-key version in the store, and the outbox of their shredding.</summary>
public sealed class ShredStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static InvocationRecord Running(string tenant, string id)
        => new(id, tenant, "score", 1, new string('a', 96), InvocationStatus.Running, null, null, null, null, null, false, null, StoreHarness.Start, null, StoreHarness.Start.AddDays(1));

    private static async Task InsertAsync(SqliteVaultStore store, params TokenRecord[] tokens)
    {
        var outcomes = await store.InsertTokensAsync(tokens[0].TenantId, tokens, Make.CreateAudit(tokens[0].TenantId), None);
        Assert.All(outcomes, o => Assert.Equal(InsertStatus.Inserted, o.Status));
    }

    [Fact]
    public async Task DeleteTenant_RemovesEverythingItOwnsButItsAuditEntries_AndNoOtherTenantsRows()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await Make.CreateTenantAsync(h.S, "ten_b");
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_a", "ten_a", new byte[32], ["tokens:write"], StoreHarness.Start, null), Make.Audit("ten_a", "apikey.create", "key_a"), None);
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_b", "ten_b", new byte[32], ["tokens:write"], StoreHarness.Start, null), Make.Audit("ten_b", "apikey.create", "key_b"), None);
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_admin", null, new byte[32], ["admin"], StoreHarness.Start, null), Make.Audit(null, "apikey.create", "key_admin"), None);
        await InsertAsync(h.S, Make.Token("ten_a", "tok_1"), Make.Token("ten_a", "tok_2"));
        await InsertAsync(h.S, Make.Token("ten_b", "tok_1"));
        await h.S.DeployFunctionAsync(new FunctionVersionRecord("ten_a", "score", 0, new string('a', 96), "python3", "{}", StoreHarness.Start), [1, 2, 3], v => Make.Audit("ten_a", "function.deploy", v.Name), None);
        await h.S.CreateInvocationAsync(Running("ten_a", "inv_1"), Make.Audit("ten_a", "function.invoke", "inv_1"), None);
        var auditBefore = h.Scalar("SELECT count(*) FROM audit WHERE tenant_id = 'ten_a'");

        var deleted = await h.S.DeleteTenantAsync("ten_a", Make.Audit("ten_a", "tenant.delete", "ten_a"), None);

        Assert.NotNull(deleted);
        Assert.Equal(["key_a"], deleted.ApiKeyIds);
        Assert.Equal((2, 1, 1, 2), (deleted.Tokens, deleted.Functions, deleted.Invocations, deleted.WrappedKeys));
        Assert.Null(await h.S.GetTenantAsync("ten_a", None));
        Assert.Empty(await h.S.GetWrappedKeysAsync("ten_a", None));
        Assert.Null(await h.S.GetApiKeyAsync("key_a", None));
        foreach (var table in new[] { "tokens", "functions", "function_versions", "invocations", "api_keys", "wrapped_keys" })
        {
            Assert.Equal(0, h.Scalar($"SELECT count(*) FROM {table} WHERE tenant_id = 'ten_a'"));
        }

        Assert.NotNull(await h.S.GetTokenAsync("ten_b", "tok_1", None));
        Assert.NotNull(await h.S.GetApiKeyAsync("key_b", None));
        Assert.NotNull(await h.S.GetApiKeyAsync("key_admin", None));
        Assert.Equal(2, (await h.S.GetWrappedKeysAsync("ten_b", None)).Count);
        Assert.Equal(auditBefore + 1, h.Scalar("SELECT count(*) FROM audit WHERE tenant_id = 'ten_a'"));
        Assert.Equal([new PendingShred("ten_a", null, StoreHarness.Start)], await h.S.GetPendingShredsAsync(None));
        Assert.True(AuditVerifier.Verify(h.Directory).Ok);
        Assert.Null(await h.S.DeleteTenantAsync("ten_a", Make.Audit("ten_a", "tenant.delete", "ten_a"), None));
    }

    [Fact]
    public async Task DeleteTenant_LeavesNoByteOfItsWrappedKeysInTheDatabaseOrItsWal()
    {
        await using var h = await StoreHarness.OpenAsync();
        var blob = RandomNumberGenerator.GetBytes(60);
        await h.S.CreateTenantAsync(Make.Tenant("ten_a"), [new WrappedKeyRecord("ten_a", "data", 1, blob, StoreHarness.Start)], Make.Audit("ten_a", "tenant.create", "ten_a"), None);
        await InsertAsync(h.S, [.. Enumerable.Range(0, 200).Select(i => Make.Token("ten_a", $"tok_{i}", ciphertext: RandomNumberGenerator.GetBytes(200)))]);
        Assert.True(ContainsInFiles(h.Directory, blob), "the scan does not find the wrapped key it looks for");

        await h.S.DeleteTenantAsync("ten_a", Make.Audit("ten_a", "tenant.delete", "ten_a"), None);

        Assert.False(ContainsInFiles(h.Directory, blob), "a deleted tenant's wrapped key is still in the database files");
    }

    [Fact]
    public async Task RetireDataKey_RefusesTheCurrentVersionAndOneInUse_ThenDeletesItAndQueuesItsShredding()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        Assert.Equal(DataKeyRetireStatus.Current, (await h.S.RetireDataKeyAsync("ten_a", 1, Make.Audit("ten_a", "datakey.retire", "ten_a"), None)).Status);
        Assert.True(await h.S.AddDataKeyVersionAsync(Make.Key("ten_a", version: 2), Make.Audit("ten_a", "datakey.rotate", "ten_a"), None));
        await InsertAsync(h.S, Make.Token("ten_a", "tok_old"), Make.Token("ten_a", "tok_fpe", format: "fpe"));
        await h.S.CreateInvocationAsync(Running("ten_a", "inv_1"), Make.Audit("ten_a", "function.invoke", "inv_1"), None);

        var inUse = await h.S.RetireDataKeyAsync("ten_a", 1, Make.Audit("ten_a", "datakey.retire", "ten_a"), None);
        Assert.Equal(new DataKeyRetirement(DataKeyRetireStatus.InUse, 1, 0, 1), inUse);

        // Re-encryption moved the token; the invocation ended with its outcome kept under version 1.
        Assert.Equal(1, await h.S.UpdateCiphertextsAsync("ten_a", [new CiphertextUpdate("tok_old", 1, 2, [9, 9])], Make.Audit("ten_a", "datakey.reencrypt", "ten_a"), None));
        Assert.True(await h.S.CompleteInvocationAsync("ten_a", "inv_1", new InvocationCompletion(null, null, 1, [1, 2], null, false, 5, StoreHarness.Start), Make.Audit("ten_a", "function.complete", "inv_1"), None));
        Assert.Equal(new DataKeyRetirement(DataKeyRetireStatus.InUse, 0, 1, 0), await h.S.RetireDataKeyAsync("ten_a", 1, Make.Audit("ten_a", "datakey.retire", "ten_a"), None));
        h.Clock.SetUtcNow(StoreHarness.Start.AddDays(2));
        await h.S.PurgeExpiredInvocationsAsync(h.Clock.GetUtcNow(), None);

        var retired = await h.S.RetireDataKeyAsync("ten_a", 1, Make.Audit("ten_a", "datakey.retire", "ten_a"), None);

        Assert.Equal(DataKeyRetireStatus.Retired, retired.Status);
        Assert.Equal(["data/2", "fingerprint/1"], (await h.S.GetWrappedKeysAsync("ten_a", None)).Select(k => $"{k.Purpose}/{k.Version}"));
        Assert.Equal([new PendingShred("ten_a", 1, h.Clock.GetUtcNow())], await h.S.GetPendingShredsAsync(None));
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'datakey.retire'"));
        Assert.Equal(DataKeyRetireStatus.VersionNotFound, (await h.S.RetireDataKeyAsync("ten_a", 1, Make.Audit("ten_a", "datakey.retire", "ten_a"), None)).Status);
        Assert.Equal(DataKeyRetireStatus.TenantNotFound, (await h.S.RetireDataKeyAsync("ten_x", 1, Make.Audit("ten_x", "datakey.retire", "ten_x"), None)).Status);

        // A create that encrypted under version 1 before it was retired, storing now: refused (it could never be revealed).
        await Assert.ThrowsAsync<VaultStoreException>(() => h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_late")], Make.CreateAudit("ten_a"), None));
        Assert.Null(await h.S.GetTokenAsync("ten_a", "tok_late", None));
        await InsertAsync(h.S, Make.Token("ten_a", "tok_new", keyVersion: 2));
    }

    [Fact]
    public async Task PendingShreds_SurviveAReopen_UntilCompleted_WithAnAuditEntry()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await h.S.DeleteTenantAsync("ten_a", Make.Audit("ten_a", "tenant.delete", "ten_a"), None);
        await h.ReopenAsync();

        var pending = Assert.Single(await h.S.GetPendingShredsAsync(None));

        Assert.True(await h.S.CompleteShredAsync(pending, Make.Audit("ten_a", "tenant.keys.shredded", "ten_a"), None));
        Assert.False(await h.S.CompleteShredAsync(pending, Make.Audit("ten_a", "tenant.keys.shredded", "ten_a"), None));
        Assert.Empty(await h.S.GetPendingShredsAsync(None));
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'tenant.keys.shredded'"));
    }

    [Fact]
    public async Task ASchemaFourDatabase_GainsTheOutbox_AndItsTenantsCanBeDeleted()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await h.CloseAsync();
        h.Tamper("DROP TABLE pending_shreds");
        h.Tamper("PRAGMA user_version = 4");

        await h.ReopenAsync();

        Assert.Equal(5, h.Scalar("PRAGMA user_version"));
        Assert.NotNull(await h.S.DeleteTenantAsync("ten_a", Make.Audit("ten_a", "tenant.delete", "ten_a"), None));
        Assert.Single(await h.S.GetPendingShredsAsync(None));
        Assert.True(AuditVerifier.Verify(h.Directory).Ok);
    }

    private static bool ContainsInFiles(string directory, byte[] needle)
        => Directory.EnumerateFiles(directory).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)).Any(file =>
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            return bytes.GetBuffer().AsSpan(0, (int)bytes.Length).IndexOf(needle) >= 0;
        });
}
