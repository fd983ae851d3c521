using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Storage.Tests;

/// <summary>A temporary data directory with a store open on it; deleted at the end.</summary>
internal sealed class StoreHarness : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_000);

    private StoreHarness(string directory, FakeTimeProvider clock)
    {
        Directory = directory;
        Clock = clock;
    }

    public string Directory { get; }

    public FakeTimeProvider Clock { get; }

    public SqliteVaultStore? Store { get; private set; }

    public SqliteVaultStore S => Store ?? throw new InvalidOperationException("The store is closed.");

    public string DatabasePath => Path.Combine(Directory, SqliteVaultStore.DatabaseFileName);

    public static async Task<StoreHarness> OpenAsync(bool fullSync = false)
    {
        var directory = Path.Combine(Path.GetTempPath(), "cloister-storage-" + Guid.NewGuid().ToString("N"));
        var harness = new StoreHarness(directory, new FakeTimeProvider(Start));
        await harness.ReopenAsync(fullSync);
        return harness;
    }

    public async Task ReopenAsync(bool fullSync = false)
    {
        await CloseAsync();
        Store = await SqliteVaultStore.OpenAsync(new StoreOptions(Directory) { FullSync = fullSync }, Clock, CancellationToken.None);
    }

    public async Task CloseAsync()
    {
        if (Store is not null)
        {
            await Store.DisposeAsync();
            Store = null;
        }
    }

    /// <summary>Runs SQL on the database file directly, as someone with write access to it (but not to the key files) could.</summary>
    public int Tamper(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    public long Scalar(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Make
{
    public static TenantRecord Tenant(string id, int version = 1) => new(id, "Tenant " + id, version, StoreHarness.Start);

    public static WrappedKeyRecord Key(string tenantId, string purpose = "data", int version = 1)
        => new(tenantId, purpose, version, Encoding.UTF8.GetBytes($"wrapped:{tenantId}:{purpose}:{version}"), StoreHarness.Start);

    public static AuditEntry Audit(string? tenantId, string action, params string[] targets) => new(tenantId, "key_test", action, targets);

    public static TokenRecord Token(
        string tenantId,
        string token,
        byte[]? deterministicKey = null,
        byte[]? fingerprint = null,
        int keyVersion = 1,
        DateTimeOffset? expiresAt = null,
        byte[]? ciphertext = null,
        string format = "random") => new(
            tenantId,
            token,
            format,
            format == "fpe" ? "0123456789" : null,
            "pan",
            keyVersion,
            format == "fpe" ? null : (ciphertext ?? Encoding.UTF8.GetBytes("ct:" + token)),
            fingerprint ?? Encoding.UTF8.GetBytes("fp:" + token),
            deterministicKey,
            "****" + token[^Math.Min(4, token.Length)..],
            """{"order":"42"}""",
            StoreHarness.Start,
            expiresAt);

    public static async Task CreateTenantAsync(IVaultStore store, string id)
        => await store.CreateTenantAsync(Tenant(id), [Key(id), Key(id, "fingerprint")], Audit(id, "tenant.create", id), CancellationToken.None);

    public static Func<IReadOnlyList<TokenRecord>, AuditEntry?> CreateAudit(string tenantId)
        => inserted => inserted.Count == 0 ? null : new AuditEntry(tenantId, "key_test", "token.create", [.. inserted.Select(t => t.Token)]);
}
