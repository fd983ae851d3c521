using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Cloister.Storage;

/// <summary>
/// Read-only connections, each with its prepared commands. WAL lets these read while the writer commits.
/// Rent creates a connection when none is idle; at most <c>maxIdle</c> are kept afterwards.
/// </summary>
internal sealed class ReadConnectionPool : IDisposable
{
    private readonly string _databasePath;
    private readonly TimeSpan _busyTimeout;
    private readonly int _maxIdle;
    private readonly ConcurrentQueue<PreparedConnection> _idle = new();
    private int _idleCount;
    private volatile bool _disposed;

    public ReadConnectionPool(string databasePath, TimeSpan busyTimeout, int maxIdle)
    {
        _databasePath = databasePath;
        _busyTimeout = busyTimeout;
        _maxIdle = maxIdle;
    }

    public PreparedConnection Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryDequeue(out var connection))
        {
            Interlocked.Decrement(ref _idleCount);
            return connection;
        }

        // query_only: a bug in a read path cannot write behind the writer's back (and its audit chain).
        return PreparedConnection.Open(_databasePath, SqliteOpenMode.ReadOnly, _busyTimeout, "PRAGMA query_only = 1;");
    }

    public void Return(PreparedConnection connection)
    {
        if (_disposed || Interlocked.Increment(ref _idleCount) > _maxIdle)
        {
            if (!_disposed)
            {
                Interlocked.Decrement(ref _idleCount);
            }

            connection.Dispose();
            return;
        }

        _idle.Enqueue(connection);
        if (_disposed)
        {
            Drain();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        Drain();
    }

    private void Drain()
    {
        while (_idle.TryDequeue(out var connection))
        {
            connection.Dispose();
        }
    }
}
