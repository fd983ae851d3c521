using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary><c>cloister tenants delete</c> and <c>cloister datakeys retire</c> against a real router.</summary>
public sealed class TenantCommandsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    private Task<CliResult> RunAsync(params string[] args) => CloisterProcess.RunAsync([.. args, "--data-dir", _server.DataDirectory]);

    [Fact]
    public async Task TenantsDelete_NeedsYes_ThenDeletesAndSaysTheKeysAreShredded()
    {
        var tenant = await _server.CreateTenantAsync();
        var token = await _server.CreateTokenAsync(tenant.Key, new { value = "cli-doomed" });

        var unconfirmed = await RunAsync("tenants", "delete", tenant.Id);
        Assert.Equal(2, unconfirmed.ExitCode);
        Assert.Contains("pass --yes", unconfirmed.Stderr, StringComparison.Ordinal);
        Assert.Equal("cli-doomed", await _server.RevealValueAsync(tenant.Key, token));

        var deleted = await RunAsync("tenants", "delete", tenant.Id, "--yes");

        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.Contains($"tenant {tenant.Id} deleted: 1 tokens", deleted.Stdout, StringComparison.Ordinal);
        Assert.Contains("never release them again", deleted.Stderr, StringComparison.Ordinal);
        ProblemAssert.Is(await _server.RevealAsync(tenant.Key, token), 401, "unauthorized");

        var again = await RunAsync("tenants", "delete", tenant.Id, "--yes");
        Assert.Equal(1, again.ExitCode);
        Assert.Single(again.Stderr.Trim().Split('\n'));
        Assert.Contains("Tenant not found", again.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DatakeysRetire_RefusesTheCurrentVersion_AndRetiresAnOldOne()
    {
        var tenant = await _server.CreateTenantAsync();
        await _server.RotateAsync(tenant.Id);
        await _server.Host.ReencryptNowAsync(CancellationToken.None);

        var current = await RunAsync("datakeys", "retire", "2", "--tenant", tenant.Id);
        var retired = await RunAsync("datakeys", "retire", "1", "--tenant", tenant.Id, "--json");

        Assert.Equal(1, current.ExitCode);
        Assert.Contains("Data key version is current", current.Stderr, StringComparison.Ordinal);
        Assert.True(retired.ExitCode == 0, retired.ToString());
        using var json = JsonDocument.Parse(retired.Stdout);
        Assert.Equal(1, json.RootElement.GetProperty("version").GetInt32());
        Assert.True(json.RootElement.GetProperty("keysShredded").GetBoolean());
    }
}
