using System.Security.Cryptography;
using System.Threading.Channels;
using SQLitePCL;

namespace Cloister.Storage;

/// <summary>
/// The store's only writer: one connection, one loop, group commit. Callers queue operations; the loop
/// takes everything queued, runs it in one transaction (each operation under its own SAVEPOINT, so one
/// failure does not undo the others), commits, rewrites the audit checkpoint, and only then completes
/// the callers' tasks, so an acknowledged write is durable and audited.
/// </summary>
/// <remarks>
/// SQLite allows one writer at a time; one loop serializes writes without lock contention, and sharing
/// a commit (the expensive part: WAL append and, with FullSync, fsync) among many callers is what lets
/// single-row writes from concurrent requests go faster than one commit each. The audit chain state
/// (last seq and MAC) lives here and is only touched on the loop.
/// </remarks>
internal sealed class SqliteWriter : IAsyncDisposable
{
    // Bounds on one commit so a burst cannot hold a transaction (and its callers) open for long.
    private const int MaxOperationsPerCommit = 1024;
    private const int MaxRowsPerCommit = 8192;

    private const string Begin = "BEGIN IMMEDIATE";
    private const string Commit = "COMMIT";
    private const string Rollback = "ROLLBACK";
    private const string Savepoint = "SAVEPOINT op";
    private const string ReleaseSavepoint = "RELEASE op";
    private const string RollbackToSavepoint = "ROLLBACK TO op";

    private const string InsertAuditSql = "INSERT INTO audit (seq, at, tenant_id, actor, action, targets, detail, mac) VALUES ($seq, $at, $tenant, $actor, $action, $targets, $detail, $mac)";

    private readonly PreparedConnection _db;
    private readonly AuditHeadFile _head;
    private readonly IncrementalHash _hmac;
    private readonly TimeProvider _time;
    private readonly Channel<WriteOperation> _queue = Channel.CreateUnbounded<WriteOperation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    private readonly byte[] _lastMac = new byte[AuditCodec.MacSize];
    private readonly byte[] _operationStartMac = new byte[AuditCodec.MacSize];
    private readonly byte[] _groupStartMac = new byte[AuditCodec.MacSize];
    private long _lastSeq;

    public SqliteWriter(PreparedConnection db, AuditHeadFile head, IncrementalHash hmac, TimeProvider time, long lastSeq, ReadOnlySpan<byte> lastMac)
    {
        _db = db;
        _head = head;
        _hmac = hmac;
        _time = time;
        _lastSeq = lastSeq;
        lastMac.CopyTo(_lastMac);
        _loop = Task.Run(RunAsync);
    }

    public PreparedConnection Db => _db;

    public TimeProvider Time => _time;

    public Task<TResult> EnqueueAsync<TState, TResult>(Func<SqliteWriter, TState, TResult> work, TState state, int rows, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TResult>(cancellationToken);
        }

        var operation = new WriteOperation<TState, TResult>(work, state, rows, cancellationToken);
        if (!_queue.Writer.TryWrite(operation))
        {
            return Task.FromException<TResult>(new ObjectDisposedException(nameof(SqliteVaultStore)));
        }

        return operation.Task;
    }

    /// <summary>Chains and inserts an audit row inside the current operation; returns its seq.</summary>
    public long AppendAudit(AuditEntry entry)
    {
        var seq = _lastSeq + 1;
        var at = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var mac = new byte[AuditCodec.MacSize];
        AuditCodec.ComputeEntryMac(_hmac, _lastMac, seq, at, entry.TenantId, entry.Actor, entry.Action, entry.Targets, entry.Detail, mac);

        var insert = _db.Command(InsertAuditSql, "$seq", "$at", "$tenant", "$actor", "$action", "$targets", "$detail", "$mac");
        var p = insert.Parameters;
        p[0].Value = seq;
        p[1].Value = at;
        p[2].Value = Rows.Nullable(entry.TenantId);
        p[3].Value = entry.Actor;
        p[4].Value = entry.Action;
        p[5].Value = StorageJsonContext.Serialize(entry.Targets);
        p[6].Value = Rows.Nullable(entry.Detail);
        p[7].Value = mac;
        insert.ExecuteNonQuery();

        _lastSeq = seq;
        mac.CopyTo(_lastMac, 0);
        return seq;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _db.Dispose();
        _head.Dispose();
        _hmac.Dispose();
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var group = new List<WriteOperation>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var rows = 0;
            while (group.Count < MaxOperationsPerCommit && rows < MaxRowsPerCommit && reader.TryRead(out var operation))
            {
                if (operation.CancellationToken.IsCancellationRequested)
                {
                    operation.Cancel();
                    continue;
                }

                group.Add(operation);
                rows += operation.Rows;
            }

            if (group.Count > 0)
            {
                try
                {
                    CommitGroup(group);
                }
                catch (Exception error)
                {
                    // A bug must not stop the loop: every later caller would wait forever.
                    foreach (var operation in group)
                    {
                        operation.Fail(error);
                    }
                }

                group.Clear();
            }
        }
    }

    private bool InTransaction => raw.sqlite3_get_autocommit(_db.Connection.Handle) == 0;

    private void CommitGroup(List<WriteOperation> group)
    {
        var groupStartSeq = _lastSeq;
        _lastMac.CopyTo(_groupStartMac, 0);

        // One operation alone needs no savepoint: if it fails the whole transaction is rolled back.
        var savepoints = group.Count > 1;
        try
        {
            _db.Execute(Begin);
            foreach (var operation in group)
            {
                RunOperation(operation, savepoints);
            }

            if (group.Count == 1 && group[0].Error is not null)
            {
                _db.Execute(Rollback);
            }
            else
            {
                _db.Execute(Commit);
            }
        }
        catch (Exception error)
        {
            // Transaction control itself failed, or SQLite abandoned the transaction (I/O error, disk
            // full): nothing of this group is committed.
            if (InTransaction)
            {
                TryRollback();
            }

            _lastSeq = groupStartSeq;
            _groupStartMac.CopyTo(_lastMac, 0);
            foreach (var operation in group)
            {
                operation.Fail(operation.Error ?? error);
            }

            return;
        }

        Exception? checkpointError = null;
        if (_lastSeq != groupStartSeq)
        {
            try
            {
                _head.Write(_hmac, _lastSeq, _lastMac);
            }
            catch (Exception error)
            {
                // Committed but not checkpointed: tell the callers, since an unacknowledged reveal must not
                // hand out its value. The next commit's checkpoint covers these entries.
                checkpointError = new VaultStoreException($"The audit checkpoint {DataFiles.AuditHead} could not be written.", error);
            }
        }

        foreach (var operation in group)
        {
            if (operation.Error is not null)
            {
                operation.Fail(operation.Error);
            }
            else if (checkpointError is not null)
            {
                operation.Fail(checkpointError);
            }
            else
            {
                operation.Complete();
            }
        }
    }

    private void RunOperation(WriteOperation operation, bool savepoint)
    {
        var startSeq = _lastSeq;
        _lastMac.CopyTo(_operationStartMac, 0);
        if (savepoint)
        {
            _db.Execute(Savepoint);
        }

        try
        {
            operation.Execute(this);
        }
        catch (Exception error)
        {
            operation.Error = error;
            _lastSeq = startSeq;
            _operationStartMac.CopyTo(_lastMac, 0);
            if (!InTransaction)
            {
                // SQLite rolled back the whole transaction; the other operations' work is gone too.
                throw;
            }

            if (savepoint)
            {
                _db.Execute(RollbackToSavepoint);
            }
        }

        if (savepoint)
        {
            _db.Execute(ReleaseSavepoint);
        }
    }

    private void TryRollback()
    {
        try
        {
            _db.Execute(Rollback);
        }
        catch (Exception)
        {
            // Already rolled back by SQLite; nothing more to undo.
        }
    }
}
