namespace Cloister.Storage;

/// <summary>
/// Function versions: canonical bundles, manifests and measurements.
/// A method that takes an <see cref="AuditEntry"/> commits it in the same transaction as its change.
/// </summary>
public interface IFunctionStore
{
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

    /// <summary>The measurement of every version of every function of the tenant, by function name then version (one query).</summary>
    Task<IReadOnlyList<string>> ListFunctionMeasurementsAsync(string tenantId, CancellationToken cancellationToken);

    /// <summary>One version (null: the latest), or null when there is none.</summary>
    Task<FunctionVersionRecord?> GetFunctionVersionAsync(string tenantId, string name, int? version, CancellationToken cancellationToken);

    /// <summary>A version's bundle (the canonical tar.gz), or null when there is none.</summary>
    Task<byte[]?> GetFunctionBundleAsync(string tenantId, string name, int version, CancellationToken cancellationToken);

    /// <summary>Deletes a function and all its versions with <paramref name="audit"/>; returns their measurements, or null when there was no such function.</summary>
    Task<IReadOnlyList<string>?> DeleteFunctionAsync(string tenantId, string name, AuditEntry audit, CancellationToken cancellationToken);
}
