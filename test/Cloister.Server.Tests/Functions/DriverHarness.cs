using System.Diagnostics.Metrics;
using System.Text;
using Cloister.Protocol;
using Cloister.Server.Functions;
using Cloister.Server.Observability;
using Cloister.Server.Tenants;
using Cloister.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Tests.Functions;

/// <summary>A real SQLite store in a temporary directory with two tenants, one deployed function, and a driver talking to a scripted enclave.</summary>
internal sealed class DriverHarness : IAsyncDisposable
{
    public const string TenantA = "ten_a";
    public const string TenantB = "ten_b";
    public static readonly string Measurement = new('a', 96);
    public static readonly byte[] BundleBytes = Encoding.UTF8.GetBytes("canonical tar.gz bytes");
    public const string ManifestJson = """{"runtime":"python3","entrypoint":"main.py"}""";

    private readonly string _directory;

    // The meter factory the router's container would give the service.
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private DriverHarness(string directory, SqliteVaultStore store, ScriptedEnclave enclave, FunctionVersionRecord function)
    {
        _directory = directory;
        Store = store;
        Enclave = enclave;
        Function = function;
        Client = new EnclaveClient(new InProcessTransport(enclave), new TenantDirectory(store, TimeProvider.System));
        Driver = new InvocationDriver(Client, store, store, TimeProvider.System);
    }

    /// <summary>What the scripted enclave's completions carry as their kept outcome (opaque to the router).</summary>
    public static StoredOutcome Kept { get; } = new(1, "kept outcome ciphertext"u8.ToArray());

    public EnclaveClient Client { get; }

    public SqliteVaultStore Store { get; }

    /// <summary>Rows of a read-only query on the store's database file, every column as a string.</summary>
    public List<string?[]> Query(string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory, SqliteVaultStore.DatabaseFileName)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string?[]>();
        while (reader.Read())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i).ToString())]);
        }

        return rows;
    }

    public ScriptedEnclave Enclave { get; }

    public InvocationDriver Driver { get; }

    public FunctionVersionRecord Function { get; }

    public InvocationContext Context(string args = """{"n":1}""") => new(TenantA, "key_caller", "inv_test", Function, args, 1);

    public static Task<DriverHarness> StartAsync(Func<EnclaveRequest, int, EnclaveResponse> script)
        => StartAsync(new ScriptedEnclave(script));

    public static Task<DriverHarness> StartAsync(Func<EnclaveRequest, int, CancellationToken, Task<EnclaveResponse>> script)
        => StartAsync(new ScriptedEnclave(script));

    /// <summary>An invocation service over this harness's store and driver.</summary>
    public InvocationService Service()
        => new(Store, Driver, Client, new TenantDirectory(Store, TimeProvider.System), TimeProvider.System, Options.Create(new ServerOptions()),
            new RouterMetrics(_meters.GetRequiredService<IMeterFactory>()), NullLogger<InvocationService>.Instance);

    private static async Task<DriverHarness> StartAsync(ScriptedEnclave enclave)
    {
        var directory = Path.Combine(Path.GetTempPath(), "cloister-driver-" + Guid.NewGuid().ToString("N"));
        var store = await SqliteVaultStore.OpenAsync(new StoreOptions(directory), TimeProvider.System, CancellationToken.None);
        foreach (var tenant in (string[])[TenantA, TenantB])
        {
            await store.CreateTenantAsync(
                new TenantRecord(tenant, tenant, 1, DateTimeOffset.UtcNow),
                [new WrappedKeyRecord(tenant, KeyPurpose.Data, 1, Encoding.UTF8.GetBytes("wrapped-" + tenant), DateTimeOffset.UtcNow)],
                new AuditEntry(tenant, "test", "tenant.create", [tenant]),
                CancellationToken.None);
        }

        var candidate = new FunctionVersionRecord(TenantA, "score", 0, Measurement, "python3", ManifestJson, DateTimeOffset.UtcNow);
        var deployed = await store.DeployFunctionAsync(candidate, BundleBytes, v => new AuditEntry(TenantA, "test", "function.deploy", [v.Name]), CancellationToken.None);
        return new DriverHarness(directory, store, enclave, deployed.Version);
    }

    public static TokenRecord Token(string tenant, string token, string classifier = "pan", DateTimeOffset? expiresAt = null) => new(
        tenant, token, "random", null, classifier, 1, Encoding.UTF8.GetBytes("ct-" + token), Encoding.UTF8.GetBytes("fp-" + token), null,
        "****", null, DateTimeOffset.UtcNow.AddMinutes(-5), expiresAt);

    public async Task InsertAsync(params TokenRecord[] tokens)
    {
        foreach (var group in tokens.GroupBy(t => t.TenantId))
        {
            await Store.InsertTokensAsync(group.Key, [.. group], _ => null, CancellationToken.None);
        }
    }

    public static InvocationCompletedResponse Completed(string result = """{"ok":true}""", IReadOnlyList<string>? revealed = null)
        => new("inv_test", result, null, Warm: true, Logs: ["done"], RevealedTokens: revealed ?? [], Stored: Kept);

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        await _meters.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
