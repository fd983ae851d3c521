using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// A data directory with a real audit history, made once by a server that is then stopped. Each test
/// tampers with its own copy, as someone who can write the database but not the key files could.
/// </summary>
public sealed class AuditFixture : IAsyncLifetime
{
    private readonly TempDirectory _data = TempDirectory.Create("audit");

    public string DataDirectory => _data.Path;

    public long EntryCount { get; private set; }

    public async Task InitializeAsync()
    {
        await using (var server = await TestServer.StartAsync(_data.Path))
        {
            var key = server.DefaultTenant.Key;
            var token = await server.CreateTokenAsync(key, new { value = "4111111111111111", format = "pan" });
            (await server.BatchAsync(key, [new { value = "a" }, new { value = "b" }, new { value = "c" }])).Expect(200);
            await server.RevealValueAsync(key, token);
            (await server.DeleteAsync(key, token)).Expect(204);
            var tenant = await server.CreateTenantAsync();
            await server.RevokeApiKeyAsync(tenant.Id, tenant.KeyId!);
            await server.RotateAsync(server.DefaultTenant.Id);
            await server.Host.ReencryptNowAsync(CancellationToken.None);
        }

        EntryCount = VaultDatabase.Scalar(_data.Path, "SELECT count(*) FROM audit");
    }

    public Task DisposeAsync()
    {
        _data.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class AuditTamperTests(AuditFixture fixture) : IClassFixture<AuditFixture>
{
    [Fact]
    public async Task Verify_UntouchedLog_ExitsZero()
    {
        Assert.True(fixture.EntryCount >= 10, $"only {fixture.EntryCount} audit entries");
        using var copy = TempDirectory.CopyOf(fixture.DataDirectory);

        var result = await CloisterProcess.RunAsync("audit", "verify", "--data-dir", copy.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(fixture.EntryCount.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_UntouchedLog_JsonSaysOk()
    {
        using var copy = TempDirectory.CopyOf(fixture.DataDirectory);
        var result = await CloisterProcess.RunAsync("audit", "verify", "--data-dir", copy.Path, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.True(json.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(fixture.EntryCount, json.RootElement.GetProperty("entries").GetInt64());
    }

    [Fact]
    public async Task Verify_EditedAction_ExitsOneNamingEntry3()
    {
        using var copy = TempDirectory.CopyOf(fixture.DataDirectory);
        VaultDatabase.ExecuteOne(copy.Path, "UPDATE audit SET action = 'token.delete' WHERE seq = 3");

        var result = await CloisterProcess.RunAsync("audit", "verify", "--data-dir", copy.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        AssertOneErrorLineNaming(result, 3);
    }

    [Theory]
    [InlineData("actor = 'someone else'")]
    [InlineData("targets = '[]'")]
    [InlineData("at = at + 1")]
    [InlineData("tenant_id = 'ten_other'")]
    public async Task Verify_AnyEditedColumn_ExitsOneNamingTheEntry(string change)
    {
        using var copy = TempDirectory.CopyOf(fixture.DataDirectory);
        VaultDatabase.ExecuteOne(copy.Path, $"UPDATE audit SET {change} WHERE seq = 5");

        var result = await CloisterProcess.RunAsync("audit", "verify", "--data-dir", copy.Path, "--json");

        Assert.True(result.ExitCode == 1, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.False(json.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(5, json.RootElement.GetProperty("firstBadEntry").GetInt64());
    }

    [Fact]
    public async Task Verify_DeletedMiddleRow_ExitsOneNamingIt()
    {
        using var copy = TempDirectory.CopyOf(fixture.DataDirectory);
        var middle = fixture.EntryCount / 2;
        VaultDatabase.ExecuteOne(copy.Path, $"DELETE FROM audit WHERE seq = {middle}");

        var result = await CloisterProcess.RunAsync("audit", "verify", "--data-dir", copy.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        AssertOneErrorLineNaming(result, middle);
    }

    [Fact]
    public async Task Verify_DeletedLastRow_ExitsOneNamingIt()
    {
        using var copy = TempDirectory.CopyOf(fixture.DataDirectory);
        VaultDatabase.ExecuteOne(copy.Path, $"DELETE FROM audit WHERE seq = {fixture.EntryCount}");

        var result = await CloisterProcess.RunAsync("audit", "verify", "--data-dir", copy.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        AssertOneErrorLineNaming(result, fixture.EntryCount);
    }

    [Fact]
    public async Task Verify_DeletedFirstRow_ExitsOneNamingIt()
    {
        using var copy = TempDirectory.CopyOf(fixture.DataDirectory);
        VaultDatabase.ExecuteOne(copy.Path, "DELETE FROM audit WHERE seq = 1");

        var result = await CloisterProcess.RunAsync("audit", "verify", "--data-dir", copy.Path);

        Assert.True(result.ExitCode == 1, result.ToString());
        AssertOneErrorLineNaming(result, 1);
    }

    [Fact]
    public async Task Verify_MissingDataDirectory_FailsWithOneLine()
    {
        var result = await CloisterProcess.RunAsync("audit", "verify", "--data-dir", Path.Combine(Path.GetTempPath(), "cloister-absent-" + Guid.NewGuid().ToString("N")));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Single(result.StderrLines);
        Assert.StartsWith("cloister:", result.StderrLines[0], StringComparison.Ordinal);
    }

    /// <summary>It used to accept them and report OK against an unreachable server: it verifies files, never through a server.</summary>
    [Theory]
    [InlineData("--url", "http://127.0.0.1:1")]
    [InlineData("--key", "ck_anything")]
    public async Task Verify_WithUrlOrKey_RefusesWithOneLineNamingTheOption(string option, string value)
    {
        using var copy = TempDirectory.CopyOf(fixture.DataDirectory);

        var result = await CloisterProcess.RunAsync("audit", "verify", "--data-dir", copy.Path, option, value);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith($"cloister: audit verify does not take {option}", line, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    private static void AssertOneErrorLineNaming(CliResult result, long seq)
    {
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith("cloister:", line, StringComparison.Ordinal);
        Assert.Matches($@"\b{seq}\b", line);
    }
}
