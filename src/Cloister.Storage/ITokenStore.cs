namespace Cloister.Storage;

/// <summary>
/// Token records (ciphertexts, fingerprints, masks), their expiry and their re-encryption under newer data keys.
/// A method that takes an <see cref="AuditEntry"/> commits it in the same transaction as its change.
/// </summary>
public interface ITokenStore
{
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
}
