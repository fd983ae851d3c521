namespace Cloister.Storage;

/// <summary>
/// API keys (hashed, never the secret) and the all-or-nothing first start.
/// A method that takes an <see cref="AuditEntry"/> commits it in the same transaction as its change.
/// </summary>
public interface IApiKeyStore
{
    Task CreateApiKeyAsync(ApiKeyRecord key, AuditEntry audit, CancellationToken cancellationToken);

    Task<ApiKeyRecord?> GetApiKeyAsync(string keyId, CancellationToken cancellationToken);

    /// <summary>Whether any API key (admin or tenant, revoked or not) exists: false until first start has committed.</summary>
    Task<bool> HasApiKeysAsync(CancellationToken cancellationToken);

    /// <summary>
    /// First start, all or nothing: <paramref name="tenant"/> with its wrapped keys, then <paramref name="apiKeys"/> (the admin
    /// key and the tenant's key), and <paramref name="audit"/>, in one transaction.
    /// </summary>
    Task BootstrapAsync(TenantRecord tenant, IReadOnlyList<WrappedKeyRecord> keys, IReadOnlyList<ApiKeyRecord> apiKeys, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>Every API key, admin and tenant keys, revoked ones included, oldest first.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Revokes a key of the tenant (null: an admin key); false if there is no such unrevoked key, or if it is the last
    /// unrevoked admin key (checked in the same write, so concurrent revocations always leave one admin key).
    /// </summary>
    Task<bool> RevokeApiKeyAsync(string? tenantId, string keyId, DateTimeOffset at, AuditEntry audit, CancellationToken cancellationToken);
}
