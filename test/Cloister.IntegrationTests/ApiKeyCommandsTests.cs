using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// Listing API keys (GET /v1/admin/apikeys, <c>cloister apikeys list</c>) and rotating the keys of credentials.json so that
/// the CLI keeps working: each test has its own server, because rotation rewrites the data directory's credentials.
/// </summary>
public sealed class ApiKeyCommandsTests : IAsyncLifetime
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private TestServer _server = null!;

    private string CredentialsPath => Path.Combine(_server.DataDirectory, "credentials.json");

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<CliResult> RunAsync(params string[] args) => CloisterProcess.RunAsync([.. args, "--data-dir", _server.DataDirectory]);

    private static CliResult Ok(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private string Stored(string field)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(CredentialsPath));
        return document.RootElement.GetProperty(field).GetString()!;
    }

    private static string IdOf(string key) => key.Split('_')[1];

    [Fact]
    public async Task ListRoute_ShowsEveryKeysIdTenantScopesAndTimes_NeverASecretOrItsHash_ToAdminsOnly()
    {
        var tenant = await _server.CreateTenantAsync();
        await _server.RevokeApiKeyAsync(tenant.Id, tenant.KeyId!);

        var listed = (await _server.SendAsync(HttpMethod.Get, "/v1/admin/apikeys", _server.AdminKey)).Expect(200);

        var keys = listed.Json.GetProperty("keys").EnumerateArray().ToDictionary(k => k.GetProperty("id").GetString()!);
        Assert.Equal(new[] { IdOf(_server.AdminKey), IdOf(_server.DefaultTenant.Key), tenant.KeyId! }.Order(StringComparer.Ordinal), keys.Keys.Order(StringComparer.Ordinal));
        var admin = keys[IdOf(_server.AdminKey)];
        Assert.Equal(JsonValueKind.Null, admin.GetProperty("tenantId").ValueKind);
        Assert.Equal(["admin"], admin.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(_server.DefaultTenant.Id, keys[IdOf(_server.DefaultTenant.Key)].GetProperty("tenantId").GetString());
        Assert.Equal(JsonValueKind.Null, keys[IdOf(_server.DefaultTenant.Key)].GetProperty("revokedAt").ValueKind);
        Assert.Equal(tenant.Id, keys[tenant.KeyId!].GetProperty("tenantId").GetString());
        Assert.Equal(JsonValueKind.String, keys[tenant.KeyId!].GetProperty("revokedAt").ValueKind);
        Assert.All(keys.Values, k => Assert.Equal(["createdAt", "id", "revokedAt", "scopes", "tenantId"], k.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)));
        var created = listed.Json.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("createdAt").GetDateTimeOffset()).ToList();
        Assert.Equal(created.Order(), created);
        foreach (var key in new[] { _server.AdminKey, _server.DefaultTenant.Key, tenant.Key })
        {
            Assert.DoesNotContain(key.Split('_')[2], listed.Body, StringComparison.Ordinal);
        }

        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/admin/apikeys", _server.DefaultTenant.Key), 403, "missing-scope");
    }

    [Fact]
    public async Task ApiKeysList_PrintsOneLineAKey_MarkingTheKeysOfCredentialsJson()
    {
        var tenant = await _server.CreateTenantAsync();

        var all = Ok(await RunAsync("apikeys", "list")).StdoutLines;
        var admins = Ok(await RunAsync("apikeys", "list", "--admin")).StdoutLines;
        var ofTenant = Ok(await RunAsync("apikeys", "list", "--tenant", tenant.Id)).StdoutLines;

        Assert.Equal(3, all.Length);
        var admin = Assert.Single(admins).Split('\t');
        Assert.Equal([IdOf(_server.AdminKey), "admin", "admin"], admin[..3]);
        Assert.Equal(["-", "credentials.json"], admin[4..]);
        Assert.Equal([tenant.KeyId!, tenant.Id], Assert.Single(ofTenant).Split('\t')[..2]);
        Assert.Equal(5, Assert.Single(ofTenant).Split('\t').Length);
        Assert.Contains(all, line => line.StartsWith(IdOf(_server.DefaultTenant.Key) + "\t" + _server.DefaultTenant.Id + "\t", StringComparison.Ordinal) && line.EndsWith("\tcredentials.json", StringComparison.Ordinal));
        Assert.DoesNotContain(_server.AdminKey, string.Join('\n', all), StringComparison.Ordinal);
    }

    /// <summary>The README's rotation: the new admin key goes into credentials.json, so later admin commands keep working.</summary>
    [Fact]
    public async Task ApiKeysRotateAdmin_PutsTheNewKeyInCredentials0600_RevokesTheOld_AndAdminCommandsKeepWorking()
    {
        var old = Stored("adminKey");

        var rotated = Ok(await RunAsync("apikeys", "rotate", "--admin"));

        var current = Stored("adminKey");
        Assert.NotEqual(old, current);
        Assert.Equal([$"admin key {IdOf(current)} is in {CredentialsPath}; {IdOf(old)} revoked"], rotated.StdoutLines);
        Assert.DoesNotContain(current, rotated.Stdout + rotated.Stderr, StringComparison.Ordinal);
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(CredentialsPath));
        Assert.Equal(_server.DefaultTenant.Key, Stored("tenantKey"));
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/admin/apikeys", old), 401, "unauthorized");
        Assert.StartsWith("ten_", Assert.Single(Ok(await RunAsync("tenants", "create", "after-rotation")).StdoutLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKeysRotate_TheTenantKey_KeepsItsScopes_AndTokenCommandsKeepWorking()
    {
        var old = Stored("tenantKey");
        var scopes = ScopesOf(Assert.Single(Ok(await RunAsync("apikeys", "list", "--tenant", _server.DefaultTenant.Id)).StdoutLines));

        Ok(await RunAsync("apikeys", "rotate"));

        var current = Stored("tenantKey");
        Assert.NotEqual(old, current);
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/tokens", old, TestServer.Json(new { value = "x" })), 401, "unauthorized");
        var token = Assert.Single(Ok(await RunAsync("tokens", "create", "rotated-tenant-key")).StdoutLines);
        Assert.Equal(["rotated-tenant-key"], Ok(await RunAsync("tokens", "reveal", token)).StdoutLines);
        var line = Assert.Single(Ok(await RunAsync("apikeys", "list", "--tenant", _server.DefaultTenant.Id)).StdoutLines, l => l.StartsWith(IdOf(current), StringComparison.Ordinal));
        Assert.Equal(scopes, ScopesOf(line));
    }

    private static string[] ScopesOf(string listLine) => [.. listLine.Split('\t')[2].Split(',').Order(StringComparer.Ordinal)];

    /// <summary>The manual way (create, then revoke the old key with the new one) leaves a usable credentials.json too.</summary>
    [Fact]
    public async Task RevokingTheAdminKeyOfCredentials_WithAnotherAdminKey_PutsThatKeyInTheFile()
    {
        var created = JsonDocument.Parse(Ok(await RunAsync("apikeys", "create", "--admin", "--json")).Stdout).RootElement;
        var newKey = created.GetProperty("key").GetString()!;
        var oldId = Assert.Single(Ok(await RunAsync("apikeys", "list", "--admin")).StdoutLines, l => l.EndsWith("\tcredentials.json", StringComparison.Ordinal)).Split('\t')[0];

        // A key given with --key is never sent to the address server.json names: the URL comes with it.
        Ok(await RunAsync("apikeys", "revoke", "--admin", oldId, "--key", newKey, "--url", _server.BaseAddress.ToString()));

        Assert.Equal(newKey, Stored("adminKey"));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(CredentialsPath));
        Ok(await RunAsync("tenants", "create", "after-manual-rotation"));
    }
}
