using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Cloister.Storage;

/// <summary>
/// The embedded store: one SQLite database (<c>vault.db</c>, WAL) in a data directory, with the audit
/// chain's key and checkpoint in files beside it.
/// </summary>
/// <remarks>
/// <para>
/// Writes go through one <see cref="SqliteWriter"/> (group commit; a task completes only after COMMIT and
/// the checkpoint rewrite); reads use a small pool of read-only connections and see committed data only.
/// A data directory is used by one store at a time (<c>store.lock</c>); a second open fails.
/// </para>
/// <para>
/// Writes that take an <see cref="AuditEntry"/> append it in the same transaction as the change, and only
/// when something changed: a compare-and-set that lost, a revoke or delete that found nothing, leave no entry.
/// The audit callback of <see cref="InsertTokensAsync"/> runs on the writer loop inside the transaction:
/// it must be quick and must not call the store.
/// </para>
/// </remarks>
public sealed partial class SqliteVaultStore : IVaultStore
{
    /// <summary>The database file's name in the data directory.</summary>
    public const string DatabaseFileName = DataFiles.Database;

    /// <summary>The audit MAC key's file name (32 bytes, mode 0600).</summary>
    public const string AuditKeyFileName = DataFiles.AuditKey;

    /// <summary>The audit checkpoint's file name (72 bytes, mode 0600).</summary>
    public const string AuditHeadFileName = DataFiles.AuditHead;

    private const string AnomalyAction = "audit.checkpoint.anomaly";

    private readonly SqliteWriter _writer;
    private readonly ReadConnectionPool _reads;
    private readonly WalCheckpointer _checkpointer;
    private readonly FileStream _lock;
    private int _disposed;

    private SqliteVaultStore(SqliteWriter writer, ReadConnectionPool reads, WalCheckpointer checkpointer, FileStream lockFile)
    {
        _writer = writer;
        _reads = reads;
        _checkpointer = checkpointer;
        _lock = lockFile;
    }

    /// <summary>
    /// Opens (creating on first use) the store in <see cref="StoreOptions.DataDirectory"/>: takes the directory's
    /// lock, loads or creates <c>audit.key</c>, creates or migrates the schema, and resumes the audit chain.
    /// </summary>
    /// <remarks>
    /// If the checkpoint is ahead of the log (entries were deleted) the chain continues after the checkpoint,
    /// leaving the gap for <see cref="AuditVerifier"/> to report; if the checkpoint is missing or forged
    /// while the log has entries, the chain continues from the log. Either way an
    /// <c>audit.checkpoint.anomaly</c> entry records what was found: nothing is repaired silently.
    /// </remarks>
    /// <exception cref="VaultStoreException">The options are invalid, the directory is in use, or its files are unusable.</exception>
    public static async Task<SqliteVaultStore> OpenAsync(StoreOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        if (options.Validate() is { } invalid)
        {
            throw new VaultStoreException(invalid);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var directory = Path.GetFullPath(options.DataDirectory);
        DataFiles.CreateDirectory(directory);

        FileStream? lockFile = null;
        PreparedConnection? db = null;
        AuditHeadFile? head = null;
        IncrementalHash? hmac = null;
        try
        {
            lockFile = AcquireLock(directory);

            var databasePath = Path.Combine(directory, DataFiles.Database);
            var keyPath = Path.Combine(directory, DataFiles.AuditKey);
            if (!File.Exists(keyPath) && File.Exists(databasePath) && new FileInfo(databasePath).Length > 0)
            {
                // A new key would silently start a chain nobody can check the old entries against.
                throw new VaultStoreException($"{DataFiles.AuditKey} is missing but {DataFiles.Database} exists: restore {DataFiles.AuditKey} from a backup (the audit log cannot be verified or extended without it).");
            }

            var key = AuditKeyFile.LoadOrCreate(keyPath);
            hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
            CryptographicOperations.ZeroMemory(key);

            if (!File.Exists(databasePath))
            {
                // An empty file is an empty database; creating it here makes it (and SQLite's -wal and -shm,
                // which copy its mode) owner-only.
                DataFiles.Open(databasePath, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite).Dispose();
            }

            // WAL + synchronous=NORMAL: a commit is in the WAL (the OS's page cache) before COMMIT returns, so it
            // survives kill -9; FULL also fsyncs the WAL at every commit, for power loss.
            // Checkpoints run in the background (WalCheckpointer); the writer's own autocheckpoint at 50,000 pages
            // (~200 MB) is only a backstop. Random token and fingerprint keys dirty pages all over the indexes, and
            // checkpointing less often than SQLite's default 1,000 pages copies (and fsyncs) each page once for many
            // commits: in a 100k-token insert run (1,000-token batches) 10,000 pages cut CPU per token by a quarter.
            // cache_size 64 MB keeps those indexes in memory on the writer.
            var synchronous = options.FullSync ? "FULL" : "NORMAL";
            db = PreparedConnection.Open(
                databasePath,
                SqliteOpenMode.ReadWriteCreate,
                options.BusyTimeout,
                $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 50000;");
            SqliteSchema.Migrate(db.Connection);

            var (logSeq, logMac) = ReadLogEnd(db);
            head = AuditHeadFile.Open(Path.Combine(directory, DataFiles.AuditHead), options.FullSync);
            var checkpoint = head.ReadExisting(hmac);
            var (seq, mac, anomaly) = Resume(logSeq, logMac, checkpoint);

            var writer = new SqliteWriter(db, head, hmac, time, seq, mac);
            var reads = new ReadConnectionPool(databasePath, options.BusyTimeout, maxIdle: Math.Clamp(Environment.ProcessorCount * 2, 4, 16));
            var checkpointer = new WalCheckpointer(databasePath, options.BusyTimeout);
            var store = new SqliteVaultStore(writer, reads, checkpointer, lockFile);
            db = null;
            head = null;
            hmac = null;
            lockFile = null;

            try
            {
                if (anomaly is not null)
                {
                    await store.AppendAuditAsync(new AuditEntry(null, "system", AnomalyAction, [], anomaly), CancellationToken.None).ConfigureAwait(false);
                }

                await store.WriteAsync(0, static (w, _) => SqliteSchema.MigrateRows(w), 1, CancellationToken.None).ConfigureAwait(false);
            }
            catch
            {
                await store.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            return store;
        }
        catch (SqliteException e)
        {
            throw new VaultStoreException($"{DataFiles.Database} could not be opened: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VaultStoreException($"The data directory {directory} is not usable: {e.Message}", e);
        }
        finally
        {
            db?.Dispose();
            head?.Dispose();
            hmac?.Dispose();
            lockFile?.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Queued writes finish first; readers close before the writer so its close is the last one,
        // which checkpoints the WAL into vault.db.
        await _checkpointer.DisposeAsync().ConfigureAwait(false);
        _reads.Dispose();
        await _writer.DisposeAsync().ConfigureAwait(false);
        _lock.Dispose();
    }

    private static FileStream AcquireLock(string directory)
    {
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock) for as long as the store is open.
            return DataFiles.Open(Path.Combine(directory, DataFiles.Lock), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new VaultStoreException($"The data directory {directory} is in use by another store.", e);
        }
    }

    private static (long Seq, byte[] Mac) ReadLogEnd(PreparedConnection db)
    {
        using var command = db.Connection.CreateCommand();
        command.CommandText = "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1";
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? (reader.GetInt64(0), reader.GetFieldValue<byte[]>(1))
            : (0, new byte[AuditCodec.MacSize]);
    }

    /// <summary>Where the chain continues, and what to record if the log and its checkpoint disagree.</summary>
    private static (long Seq, byte[] Mac, string? Anomaly) Resume(long logSeq, byte[] logMac, HeadState checkpoint) => checkpoint.Status switch
    {
        HeadStatus.Valid when checkpoint.Seq > logSeq => (checkpoint.Seq, checkpoint.Mac,
            $"at open the log ended at entry {logSeq} but {DataFiles.AuditHead} says {checkpoint.Seq}; continuing after the checkpoint"),
        HeadStatus.Valid => (logSeq, logMac, null),
        HeadStatus.Empty when logSeq == 0 => (0, logMac, null),
        HeadStatus.Empty => (logSeq, logMac, $"at open {DataFiles.AuditHead} was missing or empty while the log had {logSeq} entries"),
        _ => (logSeq, logMac, $"at open {DataFiles.AuditHead} failed its MAC check; continuing from log entry {logSeq}"),
    };

    private Task<T> ReadAsync<TState, T>(TState state, Func<PreparedConnection, TState, T> read, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = _reads.Rent();
        try
        {
            // Microsoft.Data.Sqlite's async methods run synchronously anyway; a local read is microseconds.
            return Task.FromResult(read(connection, state));
        }
        catch (SqliteException e)
        {
            return Task.FromException<T>(new VaultStoreException($"The database read failed: {e.Message}", e));
        }
        finally
        {
            _reads.Return(connection);
        }
    }

    private Task<TResult> WriteAsync<TState, TResult>(TState state, Func<SqliteWriter, TState, TResult> work, int rows, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _writer.EnqueueAsync(work, state, rows, cancellationToken);
    }

    private static void ValidateEntry(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentException.ThrowIfNullOrEmpty(entry.Actor, nameof(entry));
        ArgumentException.ThrowIfNullOrEmpty(entry.Action, nameof(entry));
        ArgumentNullException.ThrowIfNull(entry.Targets, nameof(entry));
        for (var i = 0; i < entry.Targets.Count; i++)
        {
            if (entry.Targets[i] is null)
            {
                throw new ArgumentException("Audit targets must not contain null.", nameof(entry));
            }
        }
    }
}
