namespace Cloister.Storage;

/// <summary>What <see cref="ITenantStore.DeleteTenantAsync"/> removed.</summary>
/// <param name="ApiKeyIds">The tenant's API keys (deleted: they stop authenticating).</param>
/// <param name="Tokens">Token records deleted.</param>
/// <param name="Functions">Functions deleted (with every version).</param>
/// <param name="Invocations">Invocation records deleted.</param>
/// <param name="WrappedKeys">Wrapped keys deleted (every data-key version, the fpe and fingerprint keys).</param>
public sealed record TenantDeletion(IReadOnlyList<string> ApiKeyIds, int Tokens, int Functions, int Invocations, int WrappedKeys);

/// <summary>The outcome of <see cref="ITenantStore.RetireDataKeyAsync"/>.</summary>
public enum DataKeyRetireStatus
{
    /// <summary>The wrapped key is deleted and its shredding queued.</summary>
    Retired,

    /// <summary>No such tenant.</summary>
    TenantNotFound,

    /// <summary>The tenant has no data key of this version (never had, or it is retired already).</summary>
    VersionNotFound,

    /// <summary>The version is the tenant's current one: new values are encrypted under it.</summary>
    Current,

    /// <summary>Tokens or kept invocation outcomes are still under the version, or invocations are running (they may keep theirs under it).</summary>
    InUse,
}

/// <summary>The outcome of <see cref="ITenantStore.RetireDataKeyAsync"/>, with what holds the version for <see cref="DataKeyRetireStatus.InUse"/>.</summary>
public sealed record DataKeyRetirement(DataKeyRetireStatus Status, int Tokens = 0, int Outcomes = 0, int RunningInvocations = 0);

/// <summary>
/// A crypto-shredding the store has committed (the wrapped keys are deleted) and the enclave worker and key broker have
/// yet to confirm: the worker zeroes the keys, the broker records them as never to be unwrapped again.
/// </summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="DataKeyVersion">The retired data-key version; null when the tenant was deleted.</param>
/// <param name="RequestedAt">When the deletion or retirement committed.</param>
public sealed record PendingShred(string TenantId, int? DataKeyVersion, DateTimeOffset RequestedAt);
