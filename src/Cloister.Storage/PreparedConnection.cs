using Microsoft.Data.Sqlite;

namespace Cloister.Storage;

/// <summary>
/// One SQLite connection and its prepared commands, kept for the connection's life so each statement
/// is compiled once and only re-bound afterwards. Not thread-safe: one user at a time.
/// </summary>
internal sealed class PreparedConnection : IDisposable
{
    // SQL texts are constants, so reference equality finds a command without hashing the text.
    private readonly Dictionary<string, SqliteCommand> _commands = new(ReferenceEqualityComparer.Instance);

    private PreparedConnection(SqliteConnection connection) => Connection = connection;

    public SqliteConnection Connection { get; }

    /// <summary>Opens a connection that owns its handle (no ADO.NET pool), so disposing the store really closes the files.</summary>
    public static PreparedConnection Open(string databasePath, SqliteOpenMode mode, TimeSpan busyTimeout, string pragmas)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = mode,
            Pooling = false,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds)),
        }.ToString();
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA busy_timeout = {(long)busyTimeout.TotalMilliseconds}; {pragmas}";
            command.ExecuteNonQuery();
            return new PreparedConnection(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The prepared command for <paramref name="sql"/> (a constant), with parameters in the given order.</summary>
    public SqliteCommand Command(string sql, params ReadOnlySpan<string> parameterNames)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameterNames)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            command.Prepare();
            _commands.Add(sql, command);
        }

        return command;
    }

    /// <summary>Runs a parameterless statement (transaction control) through its prepared command.</summary>
    public void Execute(string sql) => Command(sql).ExecuteNonQuery();

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        Connection.Dispose();
    }
}
