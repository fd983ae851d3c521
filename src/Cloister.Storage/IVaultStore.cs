namespace Cloister.Storage;

/// <summary>
/// The router's persistence, one contract per area (<see cref="ITenantStore"/>, <see cref="IApiKeyStore"/>,
/// <see cref="ITokenStore"/>, <see cref="IFunctionStore"/>, <see cref="IInvocationStore"/>, <see cref="IAuditStore"/>):
/// services take the areas they use; a store implements them all. Key-free by construction: it stores ciphertext, hashes
/// and wrapped keys only. Every mutating method that takes an <see cref="AuditEntry"/> commits it in the same transaction
/// as the change, chained into the audit log, so an acknowledged change is always audited.
/// Implementations: SQLite (embedded default); PostgreSQL later.
/// </summary>
public interface IVaultStore : ITenantStore, IApiKeyStore, ITokenStore, IFunctionStore, IInvocationStore, IAuditStore, IAsyncDisposable;
