namespace Cloister.Storage;

/// <summary>
/// The router's persistence: tenants, wrapped keys, API keys, token records and the audit log.
/// Key-free by construction: it stores ciphertext, hashes and wrapped keys only.
/// Every mutating method that takes an <see cref="AuditEntry"/> commits it in the same transaction
/// as the change, chained into the audit log, so an acknowledged change is always audited.
/// Implementations: SQLite (embedded default); PostgreSQL later.
/// </summary>
public interface IVaultStore : IAsyncDisposable
{
    // Tenants and keys
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

    // API keys
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

    // Tokens
    /// <summary>
    /// Inserts tokens of one tenant in one transaction, with <paramref name="audit"/> (may be null
    /// when nothing was inserted). Outcomes are in input order; items that were not inserted leave no trace.
    /// </summary>
    Task<IReadOnlyList<InsertOutcome>> InsertTokensAsync(string tenantId, IReadOnlyList<TokenRecord> tokens, Func<IReadOnlyList<TokenRecord>, AuditEntry?> audit, CancellationToken cancellationToken);

    Task<TokenRecord?> GetTokenAsync(string tenantId, string token, CancellationToken cancellationToken);

    Task<bool> DeleteTokenAsync(string tenantId, string token, AuditEntry audit, CancellationToken cancellationToken);

    Task<IReadOnlyList<TokenRecord>> FindByFingerprintAsync(string tenantId, byte[] fingerprint, int limit, CancellationToken cancellationToken);

    Task<TokenRecord?> FindDeterministicAsync(string tenantId, byte[] deterministicKey, CancellationToken cancellationToken);

    /// <summary>Deletes tokens whose expiry is at or before <paramref name="now"/>; returns how many.</summary>
    Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes one expired token (found expired on access); no audit entry.</summary>
    Task PurgeTokenAsync(string tenantId, string token, CancellationToken cancellationToken);

    /// <summary>Tokens with a ciphertext under a data-key version below <paramref name="version"/> (rotation job).</summary>
    Task<IReadOnlyList<TokenRecord>> GetTokensBelowKeyVersionAsync(string tenantId, int version, int limit, CancellationToken cancellationToken);

    /// <summary>Tenants that still have ciphertexts under an old data-key version.</summary>
    Task<IReadOnlyList<string>> GetTenantsNeedingReencryptionAsync(CancellationToken cancellationToken);

    /// <summary>Replaces ciphertexts, each only if the row is still at FromVersion; returns how many changed.</summary>
    Task<int> UpdateCiphertextsAsync(string tenantId, IReadOnlyList<CiphertextUpdate> updates, AuditEntry audit, CancellationToken cancellationToken);

    // Functions
    /// <summary>
    /// Deploys a version of function <paramref name="candidate"/>.Name (its Version is ignored): when the latest version
    /// has the same measurement it is returned unchanged (Created false, no audit entry); otherwise version latest + 1
    /// is stored with <paramref name="bundleTarGz"/> and the entry <paramref name="audit"/> makes for it.
    /// </summary>
    Task<DeployOutcome> DeployFunctionAsync(FunctionVersionRecord candidate, byte[] bundleTarGz, Func<FunctionVersionRecord, AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>The tenant's functions with their latest versions, by name.</summary>
    Task<IReadOnlyList<FunctionSummary>> ListFunctionsAsync(string tenantId, CancellationToken cancellationToken);

    /// <summary>Every version of a function, oldest first; empty when the tenant has no such function.</summary>
    Task<IReadOnlyList<FunctionVersionRecord>> GetFunctionVersionsAsync(string tenantId, string name, CancellationToken cancellationToken);

    /// <summary>One version (null: the latest), or null when there is none.</summary>
    Task<FunctionVersionRecord?> GetFunctionVersionAsync(string tenantId, string name, int? version, CancellationToken cancellationToken);

    /// <summary>A version's bundle (the canonical tar.gz), or null when there is none.</summary>
    Task<byte[]?> GetFunctionBundleAsync(string tenantId, string name, int version, CancellationToken cancellationToken);

    /// <summary>Deletes a function and all its versions with <paramref name="audit"/>; returns their measurements, or null when there was no such function.</summary>
    Task<IReadOnlyList<string>?> DeleteFunctionAsync(string tenantId, string name, AuditEntry audit, CancellationToken cancellationToken);

    // Invocations
    /// <summary>Records a new (running) invocation with its audit entry.</summary>
    Task CreateInvocationAsync(InvocationRecord invocation, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>Completes a running invocation of the tenant with its audit entry; false (and no entry) if it is not running.</summary>
    Task<bool> CompleteInvocationAsync(string tenantId, string invocationId, InvocationCompletion completion, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>An invocation of the tenant that has not expired by <paramref name="now"/>, or null.</summary>
    Task<InvocationRecord?> GetInvocationAsync(string tenantId, string invocationId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// The bytes of what <see cref="GetInvocationAsync"/> would load for the invocation (its kept outcome or sealed result),
    /// without loading them; null when there is no such unexpired invocation of the tenant.
    /// </summary>
    Task<long?> GetInvocationOutcomeLengthAsync(string tenantId, string invocationId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Marks every running invocation failed with <paramref name="errorCode"/> (used at start-up: an invocation that was
    /// running when the router stopped can never complete). One audit entry per invocation; returns how many.
    /// </summary>
    Task<int> FailRunningInvocationsAsync(string errorCode, string errorDetail, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Deletes invocations whose expiry is at or before <paramref name="now"/>; returns how many.</summary>
    Task<int> PurgeExpiredInvocationsAsync(DateTimeOffset now, CancellationToken cancellationToken);

    // Audit
    /// <summary>Appends an entry on its own (for actions with no other write, such as a reveal). Returns its sequence number once committed.</summary>
    Task<long> AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken);
}
