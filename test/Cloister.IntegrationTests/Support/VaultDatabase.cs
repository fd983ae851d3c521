using Microsoft.Data.Sqlite;

namespace Cloister.IntegrationTests.Support;

/// <summary>Direct access to a data directory's vault.db, as someone holding the file would have.</summary>
public static class VaultDatabase
{
    public static SqliteConnection Open(string dataDirectory, bool readOnly = false)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, "vault.db"),
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = 10,
        }.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>Runs a query and returns every row's columns.</summary>
    public static List<object?[]> Query(string dataDirectory, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Open(dataDirectory, readOnly: true);
        using var command = Prepare(connection, sql, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    public static long Scalar(string dataDirectory, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Open(dataDirectory, readOnly: true);
        using var command = Prepare(connection, sql, parameters);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Runs a statement that must change exactly one row.</summary>
    public static void ExecuteOne(string dataDirectory, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Open(dataDirectory);
        using var command = Prepare(connection, sql, parameters);
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}
