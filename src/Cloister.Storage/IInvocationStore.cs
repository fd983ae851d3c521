namespace Cloister.Storage;

/// <summary>
/// Invocations: their status, kept (encrypted) outcome or sealed result, and retention.
/// A method that takes an <see cref="AuditEntry"/> commits it in the same transaction as its change.
/// </summary>
public interface IInvocationStore
{
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
}
