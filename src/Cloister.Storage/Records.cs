namespace Cloister.Storage;

/// <summary>A tenant.</summary>
public sealed record TenantRecord(string Id, string Name, int CurrentDataKeyVersion, DateTimeOffset CreatedAt);

/// <summary>A tenant key wrapped by the master key (the store never sees an unwrapped key).</summary>
public sealed record WrappedKeyRecord(string TenantId, string Purpose, int Version, byte[] Blob, DateTimeOffset CreatedAt);

/// <summary>
/// An API key. <paramref name="TenantId"/> is null for admin keys. Only the SHA-256 hash of the secret is stored.
/// </summary>
public sealed record ApiKeyRecord(
    string Id,
    string? TenantId,
    byte[] SecretHash,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt);

/// <summary>A token and what the router stores about it: ciphertext and metadata, never the value.</summary>
/// <param name="TenantId">The owning tenant.</param>
/// <param name="Token">The token string; unique within the tenant.</param>
/// <param name="Format">The token format name.</param>
/// <param name="Alphabet">The fpe alphabet, or null.</param>
/// <param name="Classifier">The caller's data classifier.</param>
/// <param name="KeyVersion">The data-key version of <paramref name="Ciphertext"/> (or of the fpe key).</param>
/// <param name="Ciphertext">AES-256-GCM ciphertext; null for fpe tokens (the token is its own ciphertext).</param>
/// <param name="Fingerprint">HMAC of the value (search).</param>
/// <param name="DeterministicKey">HMAC of format, alphabet, classifier and value; unique per tenant; null unless deterministic.</param>
/// <param name="Mask">The masked form shown instead of the value.</param>
/// <param name="MetadataJson">Caller metadata (a JSON object) or null.</param>
/// <param name="CreatedAt">When the token was created (stored to the millisecond).</param>
/// <param name="ExpiresAt">When the token expires (stored to the millisecond), or null for never.</param>
public sealed record TokenRecord(
    string TenantId,
    string Token,
    string Format,
    string? Alphabet,
    string Classifier,
    int KeyVersion,
    byte[]? Ciphertext,
    byte[]? Fingerprint,
    byte[]? DeterministicKey,
    string Mask,
    string? MetadataJson,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt);

/// <summary>What happened to one token insert.</summary>
public enum InsertStatus
{
    /// <summary>Stored.</summary>
    Inserted,

    /// <summary>The token string is already used in this tenant; draw another.</summary>
    TokenTaken,

    /// <summary>A deterministic token for this value already exists; see <see cref="InsertOutcome.Existing"/>.</summary>
    DeterministicExists,
}

/// <summary>The outcome of one insert; <paramref name="Existing"/> is set for <see cref="InsertStatus.DeterministicExists"/>.</summary>
public sealed record InsertOutcome(InsertStatus Status, TokenRecord? Existing = null);

/// <summary>
/// One audit entry before it is chained. Never holds a value or key: actions, ids and counts only.
/// </summary>
/// <param name="TenantId">The tenant acted on (null for admin actions not tied to one).</param>
/// <param name="Actor">The API key id that acted ("system" for background jobs).</param>
/// <param name="Action">A stable action name: token.create, token.reveal, token.delete, apikey.create, ...</param>
/// <param name="Targets">Ids acted on (token strings, key ids).</param>
/// <param name="Detail">Optional short non-secret detail.</param>
public sealed record AuditEntry(string? TenantId, string Actor, string Action, IReadOnlyList<string> Targets, string? Detail = null);

/// <summary>A ciphertext moved to a new data-key version by the rotation job.</summary>
public sealed record CiphertextUpdate(string Token, int FromVersion, int ToVersion, byte[] Ciphertext);
