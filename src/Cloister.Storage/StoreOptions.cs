namespace Cloister.Storage;

/// <summary>Where and how <see cref="SqliteVaultStore"/> keeps its files.</summary>
/// <param name="DataDirectory">
/// The store's directory (created with mode 0700 if missing). It holds <c>vault.db</c> (and SQLite's
/// <c>-wal</c>/<c>-shm</c> files), <c>audit.key</c>, <c>audit.head</c> and <c>store.lock</c>.
/// </param>
public sealed record StoreOptions(string DataDirectory)
{
    /// <summary>
    /// False (default): WAL with <c>synchronous=NORMAL</c>; an acknowledged write survives a process
    /// kill -9, and a power loss may lose the last moments. True: <c>synchronous=FULL</c> and the audit
    /// checkpoint is fsynced, so acknowledged writes also survive a power loss, at a throughput cost.
    /// </summary>
    public bool FullSync { get; init; }

    /// <summary>How long a statement waits for a lock held by another connection before failing. Default 5 s.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The first problem with these options, or null when they are usable.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            return "StoreOptions.DataDirectory is required.";
        }

        if (BusyTimeout <= TimeSpan.Zero || BusyTimeout > TimeSpan.FromMinutes(10))
        {
            return "StoreOptions.BusyTimeout must be between 0 and 10 minutes.";
        }

        return null;
    }
}
