using Cloister.Crypto;
using Cloister.Protocol;
using Cloister.Server.Auth;
using Cloister.Storage;

namespace Cloister.Server.Tenants;

/// <summary>Admin operations: tenants, API keys and data-key rotation.</summary>
internal sealed class TenantService(ITenantStore store, IApiKeyStore apiKeyStore, EnclaveClient enclave, TenantDirectory tenants, ApiKeyAuthenticator authenticator, ReencryptionSignal reencrypt, KeyShredder shredder, TimeProvider time)
{
    public async Task<TenantRecord> CreateTenantAsync(string name, string actor, CancellationToken cancellationToken)
    {
        var (tenant, keys) = await PrepareTenantAsync(name, cancellationToken);
        await store.CreateTenantAsync(tenant, keys, TenantCreated(tenant, actor), cancellationToken);
        return tenant;
    }

    /// <summary>A new tenant's row and its keys, made by the enclave and wrapped by the master key; nothing is stored yet.</summary>
    public async Task<(TenantRecord Tenant, IReadOnlyList<WrappedKeyRecord> Keys)> PrepareTenantAsync(string name, CancellationToken cancellationToken)
    {
        var id = "ten_" + Base58.RandomString(16);
        var response = await enclave.SendAsync<CreateTenantKeysResponse>(new CreateTenantKeysRequest { TenantId = id }, cancellationToken);
        var now = time.GetUtcNow();
        return (new TenantRecord(id, name, 1, now), [.. response.Keys.Select(k => new WrappedKeyRecord(id, k.Purpose, k.Version, k.Blob, now))]);
    }

    /// <summary>Creates an API key; the secret is returned here only. Admin keys have a null tenant.</summary>
    public async Task<(string Id, string Key)> CreateApiKeyAsync(string? tenantId, IReadOnlyList<string> scopes, string actor, CancellationToken cancellationToken)
    {
        var (record, key) = MintApiKey(tenantId, scopes);
        await apiKeyStore.CreateApiKeyAsync(record, ApiKeyCreated(record, actor), cancellationToken);
        return (record.Id, key);
    }

    /// <summary>A new API key's row and its secret (returned only here); nothing is stored yet.</summary>
    public (ApiKeyRecord Record, string Key) MintApiKey(string? tenantId, IReadOnlyList<string> scopes)
    {
        var (id, key, hash) = ApiKeySecret.Generate();
        return (new ApiKeyRecord(id, tenantId, hash, scopes, time.GetUtcNow(), null), key);
    }

    public static AuditEntry TenantCreated(TenantRecord tenant, string actor) => new(tenant.Id, actor, "tenant.create", [tenant.Id]);

    public static AuditEntry ApiKeyCreated(ApiKeyRecord key, string actor) => new(key.TenantId, actor, "apikey.create", [key.Id], string.Join(' ', key.Scopes));

    /// <summary>Every API key (admin and tenant keys, revoked ones too), without secrets or hashes.</summary>
    public async Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken cancellationToken)
        => [.. (await apiKeyStore.ListApiKeysAsync(cancellationToken)).Select(k => new ApiKeyInfo(k.Id, k.TenantId, k.Scopes, k.CreatedAt, k.RevokedAt))];

    public async Task<bool> RevokeApiKeyAsync(string? tenantId, string keyId, string actor, CancellationToken cancellationToken)
    {
        var revoked = await apiKeyStore.RevokeApiKeyAsync(tenantId, keyId, time.GetUtcNow(), new AuditEntry(tenantId, actor, "apikey.revoke", [keyId]), cancellationToken);
        authenticator.Evict(keyId);
        return revoked;
    }

    /// <summary>Whether <paramref name="keyId"/> is an admin key that is not revoked.</summary>
    public async Task<bool> IsActiveAdminKeyAsync(string keyId, CancellationToken cancellationToken)
        => await apiKeyStore.GetApiKeyAsync(keyId, cancellationToken) is { TenantId: null, RevokedAt: null };

    /// <summary>Adds a data-key version; null if another rotation won the race.</summary>
    public async Task<int?> RotateDataKeyAsync(TenantRecord tenant, string actor, CancellationToken cancellationToken)
    {
        var version = tenant.CurrentDataKeyVersion + 1;
        var response = await enclave.SendAsync<RotateDataKeyResponse>(new RotateDataKeyRequest(version) { TenantId = tenant.Id }, cancellationToken);
        var key = new WrappedKeyRecord(tenant.Id, response.Key.Purpose, response.Key.Version, response.Key.Blob, time.GetUtcNow());
        var added = await store.AddDataKeyVersionAsync(key, new AuditEntry(tenant.Id, actor, "datakey.rotate", [tenant.Id], $"version {version}"), cancellationToken);
        tenants.Evict(tenant.Id);
        if (!added)
        {
            return null;
        }

        reencrypt.Wake();
        return version;
    }

    /// <summary>
    /// Deletes the tenant (crypto-shredding): the store deletes everything it holds of it but its audit entries, in one
    /// transaction that also queues the shredding; its API keys stop authenticating here at once; then the enclave worker
    /// is asked to zero its keys and the key broker to record it (<see cref="KeyShredder"/>). Null when there is no such tenant.
    /// </summary>
    public async Task<TenantDeleted?> DeleteTenantAsync(string tenantId, string actor, CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteTenantAsync(tenantId, new AuditEntry(tenantId, actor, "tenant.delete", [tenantId]), cancellationToken);
        if (deleted is null)
        {
            return null;
        }

        foreach (var keyId in deleted.ApiKeyIds)
        {
            authenticator.Evict(keyId);
        }

        tenants.Evict(tenantId);

        // Committed: the attempt is bounded on its own (KeyShredder.AttemptTimeout) and not cut short by a caller who left.
        var shredded = await shredder.ShredAsync(new PendingShred(tenantId, null, time.GetUtcNow()), CancellationToken.None);
        return new TenantDeleted(tenantId, deleted.Tokens, deleted.Functions, deleted.Invocations, deleted.ApiKeyIds.Count, deleted.WrappedKeys, shredded);
    }

    /// <summary>Retires a data-key version no token or kept outcome uses any more (crypto-shredding it); the store's outcome and whether the worker and the key broker confirmed.</summary>
    public async Task<(DataKeyRetirement Retirement, bool Shredded)> RetireDataKeyAsync(string tenantId, int version, string actor, CancellationToken cancellationToken)
    {
        var retirement = await store.RetireDataKeyAsync(tenantId, version, new AuditEntry(tenantId, actor, "datakey.retire", [tenantId], $"version {version}"), cancellationToken);
        if (retirement.Status != DataKeyRetireStatus.Retired)
        {
            return (retirement, false);
        }

        tenants.Evict(tenantId);
        return (retirement, await shredder.ShredAsync(new PendingShred(tenantId, version, time.GetUtcNow()), CancellationToken.None));
    }
}
