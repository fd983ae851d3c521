namespace Cloister.Storage;

/// <summary>
/// Tenants, their wrapped keys and data-key versions, and crypto-shredding (a deleted tenant, a retired version).
/// A method that takes an <see cref="AuditEntry"/> commits it in the same transaction as its change.
/// </summary>
public interface ITenantStore
{
    Task CreateTenantAsync(TenantRecord tenant, IReadOnlyList<WrappedKeyRecord> keys, AuditEntry audit, CancellationToken cancellationToken);

    Task<TenantRecord?> GetTenantAsync(string tenantId, CancellationToken cancellationToken);

    Task<IReadOnlyList<WrappedKeyRecord>> GetWrappedKeysAsync(string tenantId, CancellationToken cancellationToken);

    /// <summary>Adds a data-key version and makes it current, only if <paramref name="key"/>.Version is current + 1; false otherwise.</summary>
    Task<bool> AddDataKeyVersionAsync(WrappedKeyRecord key, AuditEntry audit, CancellationToken cancellationToken);

    // Crypto-shredding (docs/security.md): the store deletes what it holds and queues the shredding, in one transaction.
    /// <summary>
    /// Deletes the tenant and everything it owns except its audit entries (tokens, wrapped keys, API keys, functions,
    /// invocations), overwriting the deleted rows in the database file, and queues its shredding
    /// (<see cref="GetPendingShredsAsync"/>), with <paramref name="audit"/>; null (and nothing done) when there is no such tenant.
    /// </summary>
    Task<TenantDeletion?> DeleteTenantAsync(string tenantId, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the tenant's wrapped data key of <paramref name="version"/> and queues its shredding, with
    /// <paramref name="audit"/>, unless it is the current version or still in use (tokens or kept outcomes under it, or
    /// running invocations).
    /// </summary>
    Task<DataKeyRetirement> RetireDataKeyAsync(string tenantId, int version, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>Shreddings not yet confirmed by the enclave worker and the key broker, oldest first.</summary>
    Task<IReadOnlyList<PendingShred>> GetPendingShredsAsync(CancellationToken cancellationToken);

    /// <summary>Records that the worker and the broker confirmed <paramref name="shred"/>, with <paramref name="audit"/>; false when it was not pending.</summary>
    Task<bool> CompleteShredAsync(PendingShred shred, AuditEntry audit, CancellationToken cancellationToken);
}
