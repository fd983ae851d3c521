using System.Text;
using Microsoft.Data.Sqlite;

namespace Cloister.Storage.Tests;

/// <summary>
/// A version-2 vault.db kept invocation results, error details and logs in clear. Opening one with this version drops
/// those rows and leaves no byte of them in the files: not in the rows, not in free pages (a row an earlier purge
/// deleted), not in the WAL of a router that was killed.
/// </summary>
public sealed class SchemaMigrationTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task FromVersion2_DropsTheInvocationsKeptInClear_AndNoByteOfThemRemainsInAnyFile()
    {
        var root = Path.Combine(Path.GetTempPath(), "cloister-migrate-" + Guid.NewGuid().ToString("N"));
        var old = Directory.CreateDirectory(Path.Combine(root, "old")).FullName;
        var image = Directory.CreateDirectory(Path.Combine(root, "image")).FullName;
        try
        {
            var canaries = new List<string>();
            string Canary(string where)
            {
                var canary = $"CANARY-{where}-{Guid.NewGuid():N}";
                canaries.Add(canary);
                return canary;
            }

            // What a version-2 router left when it was killed: rows in the file, a purged row's bytes in free space,
            // a row only in the WAL. The image is a copy taken while its connection is still open.
            using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(old, DataFiles.Database), Pooling = false }.ToString()))
            {
                connection.Open();
                Execute(connection, "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;");
                SqliteSchema.Migrate(connection, 2);
                Execute(connection, "INSERT INTO tenants VALUES ('ten_a', 'A', 1, 0)");
                Insert(connection, "inv_result", "succeeded", result: $$"""{"card":"{{Canary("result")}}"}""", logs: $"""["{Canary("logs")}"]""");
                Insert(connection, "inv_error", "failed", errorCode: "handler-error", errorDetail: "ValueError: " + Canary("detail"));
                Insert(connection, "inv_purged", "succeeded", result: $"\"{Canary("purged")}\"");
                Insert(connection, "inv_running", "running");
                Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE); DELETE FROM invocations WHERE id = 'inv_purged'; PRAGMA wal_checkpoint(TRUNCATE);");
                Insert(connection, "inv_in_wal", "succeeded", result: $"\"{Canary("wal")}\"");

                foreach (var file in Directory.GetFiles(old))
                {
                    File.Copy(file, Path.Combine(image, Path.GetFileName(file)));
                }
            }

            Assert.True(File.Exists(Path.Combine(image, DataFiles.Database + "-wal")));
            var before = ReadAll(image);
            Assert.All(canaries, canary => Assert.True(before.AsSpan().IndexOf(Encoding.UTF8.GetBytes(canary)) >= 0, canary + " is not in the old files: the test would prove nothing"));
            AuditKeyFile.LoadOrCreate(Path.Combine(image, DataFiles.AuditKey));

            await using (var store = await SqliteVaultStore.OpenAsync(new StoreOptions(image), TimeProvider.System, None))
            {
                var running = await store.GetInvocationAsync("ten_a", "inv_running", DateTimeOffset.FromUnixTimeMilliseconds(0), None);
                Assert.Equal(InvocationStatus.Running, running?.Status);
                foreach (var id in (string[])["inv_result", "inv_error", "inv_in_wal"])
                {
                    Assert.Null(await store.GetInvocationAsync("ten_a", id, DateTimeOffset.FromUnixTimeMilliseconds(0), None));
                }

                // Read while the store is open (its WAL in use), and again below after it closed.
                AssertNoCanary(image, canaries);
            }

            AssertNoCanary(image, canaries);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task AScrubLeftPendingByACrash_IsDoneAtTheNextOpen()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await h.CloseAsync();
        var canary = $"CANARY-pending-{Guid.NewGuid():N}";

        // Version 3's migration committed, and the process died before the rewrite: deleted bytes are still in the file.
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = h.DatabasePath, Pooling = false }.ToString()))
        {
            connection.Open();
            Execute(connection, "CREATE TABLE scrub_pending (since INTEGER NOT NULL) STRICT; INSERT INTO scrub_pending VALUES (0);");
            Execute(connection, $"INSERT INTO invocations (id, tenant_id, function_name, version, measurement, status, error_code, error_detail, warm, created_at, expires_at) VALUES ('inv_x', 'ten_a', 'score', 1, 'm', 'failed', 'internal', '{canary}', 0, 0, 1)");
            Execute(connection, "DELETE FROM invocations WHERE id = 'inv_x'");
        }

        Assert.True(ReadAll(h.Directory).AsSpan().IndexOf(Encoding.UTF8.GetBytes(canary)) >= 0, "the deleted row's bytes are not in the file: the test would prove nothing");
        await h.ReopenAsync();
        await h.CloseAsync();

        AssertNoCanary(h.Directory, [canary]);
        Assert.Equal(0, h.Scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'scrub_pending'"));
    }

    private static void Insert(SqliteConnection connection, string id, string status, string? result = null, string? errorCode = null, string? errorDetail = null, string? logs = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO invocations (id, tenant_id, function_name, version, measurement, status, result, error_code, error_detail, warm, duration_ms, logs, created_at, completed_at, expires_at) "
            + "VALUES ($id, 'ten_a', 'score', 1, $measurement, $status, $result, $code, $detail, 0, 5, $logs, 0, 5, $expires)";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$measurement", new string('a', 96));
        command.Parameters.AddWithValue("$status", status);
        command.Parameters.AddWithValue("$result", (object?)result ?? DBNull.Value);
        command.Parameters.AddWithValue("$code", (object?)errorCode ?? DBNull.Value);
        command.Parameters.AddWithValue("$detail", (object?)errorDetail ?? DBNull.Value);
        command.Parameters.AddWithValue("$logs", (object?)logs ?? DBNull.Value);
        command.Parameters.AddWithValue("$expires", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds());
        command.ExecuteNonQuery();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Every file of the directory (but the empty, locked store.lock), concatenated.</summary>
    private static byte[] ReadAll(string directory)
    {
        using var all = new MemoryStream();
        foreach (var file in Directory.GetFiles(directory).Where(f => Path.GetFileName(f) != DataFiles.Lock))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.CopyTo(all);
        }

        return all.ToArray();
    }

    private static void AssertNoCanary(string directory, List<string> canaries)
    {
        var content = ReadAll(directory);
        foreach (var canary in canaries)
        {
            Assert.False(content.AsSpan().IndexOf(Encoding.UTF8.GetBytes(canary)) >= 0, canary + " is still in the files");
        }
    }
}
