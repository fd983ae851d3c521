namespace Cloister.Storage;

/// <summary>
/// The tamper-evident audit log, for entries that come with no other write.
/// </summary>
public interface IAuditStore
{
    /// <summary>Appends an entry on its own (for actions with no other write, such as a reveal). Returns its sequence number once committed.</summary>
    Task<long> AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken);
}
