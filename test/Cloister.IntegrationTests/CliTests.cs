using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>The real <c>cloister</c> CLI against a running server, finding it through the data directory.</summary>
public sealed class CliTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    private Task<CliResult> RunAsync(params string[] args) => CloisterProcess.RunAsync([.. args, "--data-dir", _server.DataDirectory]);

    private static CliResult Ok(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    [Fact]
    public async Task TokensCreate_PanFormat_PrintsTheToken_AndRevealPrintsTheValue()
    {
        var created = Ok(await RunAsync("tokens", "create", "4111111111111111", "--format", "pan"));
        var token = Assert.Single(created.StdoutLines);
        Assert.Matches("^411111[0-9]{6}1111$", token);
        Assert.NotEqual("4111111111111111", token);

        var revealed = Ok(await RunAsync("tokens", "reveal", token));
        Assert.Equal("4111111111111111", Assert.Single(revealed.StdoutLines));
    }

    [Fact]
    public async Task TokensCreate_ValueFromStdin_RoundTrips()
    {
        var value = Values.Unique("stdin");
        var token = Assert.Single(Ok(await CloisterProcess.RunAsync(["tokens", "create", "-", "--data-dir", _server.DataDirectory], stdin: value + "\n")).StdoutLines);
        Assert.Equal(value, await _server.RevealValueAsync(_server.DefaultTenant.Key, token));
    }

    [Fact]
    public async Task TokensGetSearchDelete_WorkAndNeverPrintTheValue()
    {
        var value = Values.Card();
        var token = Assert.Single(Ok(await RunAsync("tokens", "create", value, "--format", "pan", "--classifier", "card", "--metadata", "{\"customer\":\"c1\"}")).StdoutLines);

        var info = Ok(await RunAsync("tokens", "get", token));
        Assert.Contains(token, info.Stdout, StringComparison.Ordinal);
        Assert.Contains(value[..6] + "******" + value[^4..], info.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(value, info.Stdout, StringComparison.Ordinal);

        var found = Ok(await RunAsync("tokens", "search", value));
        Assert.Contains(token, found.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(value, found.Stdout, StringComparison.Ordinal);

        Ok(await RunAsync("tokens", "delete", token));
        ProblemAssert.Is(await _server.GetAsync(_server.DefaultTenant.Key, token), 404, "token-not-found");
    }

    [Theory]
    [InlineData("tokens", "reveal", "nope")]
    [InlineData("tokens", "get", "nope")]
    [InlineData("tokens", "delete", "nope")]
    [InlineData("tokens", "create", "4111111111111112", "--format", "pan")]
    [InlineData("tokens", "create", "x", "--format", "bogus")]
    [InlineData("tokens", "create", "x", "--metadata", "{not json")]
    [InlineData("apikeys", "revoke", "nosuchkey")]
    [InlineData("datakeys", "rotate", "--tenant", "ten_doesnotexist")]
    public async Task Command_Failing_PrintsExactlyOneCloisterLineOnStderrAndExitsNonZero(params string[] args)
    {
        var result = await RunAsync(args);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith("cloister:", line, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task Command_ServerUnreachable_PrintsOneLineAndExitsNonZero()
    {
        var result = await CloisterProcess.RunAsync("tokens", "reveal", "tok_x", "--url", "http://127.0.0.1:1", "--key", _server.DefaultTenant.Key, "--data-dir", _server.DataDirectory);
        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith("cloister:", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_WrongKey_PrintsOneLineAndExitsNonZero()
    {
        var result = await RunAsync("tokens", "create", "x", "--key", "garbage");
        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith("cloister:", Assert.Single(result.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonOutput_OfTokenCommands_ParsesAsJson()
    {
        var value = Values.Unique("json");
        var created = Parse(Ok(await RunAsync("tokens", "create", value, "--json")));
        var token = created.GetProperty("token").GetString()!;
        Assert.Equal("random", created.GetProperty("format").GetString());

        Assert.Equal(token, Parse(Ok(await RunAsync("tokens", "get", token, "--json"))).GetProperty("token").GetString());
        Assert.Equal(value, Parse(Ok(await RunAsync("tokens", "reveal", token, "--json"))).GetProperty("value").GetString());
        var search = Parse(Ok(await RunAsync("tokens", "search", value, "--json")));
        Assert.Equal(token, Assert.Single(search.GetProperty("tokens").EnumerateArray()).GetProperty("token").GetString());
    }

    [Fact]
    public async Task AdminCommands_WithTheAdminKeyFromCredentials_CreateTenantKeyRevokeAndRotate()
    {
        var tenantText = Ok(await RunAsync("tenants", "create", "cli-tenant"));
        var tenantId = Assert.Single(tenantText.StdoutLines);
        Assert.StartsWith("ten_", tenantId, StringComparison.Ordinal);

        var tenantJson = Parse(Ok(await RunAsync("tenants", "create", "cli-tenant-2", "--json")));
        Assert.Equal("cli-tenant-2", tenantJson.GetProperty("name").GetString());

        var keyJson = Parse(Ok(await RunAsync("apikeys", "create", "--tenant", tenantId, "--scopes", "tokens:write,tokens:reveal", "--json")));
        var key = keyJson.GetProperty("key").GetString()!;
        var keyId = keyJson.GetProperty("id").GetString()!;
        Assert.Equal(["tokens:reveal", "tokens:write"], keyJson.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()).Order(StringComparer.Ordinal));

        var token = await _server.CreateTokenAsync(key, new { value = "made with a CLI key" });
        Assert.Equal("made with a CLI key", await _server.RevealValueAsync(key, token));

        var textKey = Ok(await RunAsync("apikeys", "create", "--tenant", tenantId));
        Assert.Contains("ck_", textKey.Stdout, StringComparison.Ordinal);

        var rotated = Parse(Ok(await RunAsync("datakeys", "rotate", "--tenant", tenantId, "--json")));
        Assert.Equal(tenantId, rotated.GetProperty("tenantId").GetString());
        Assert.Equal(2, rotated.GetProperty("version").GetInt32());
        Assert.Contains("3", Ok(await RunAsync("datakeys", "rotate", "--tenant", tenantId)).Stdout, StringComparison.Ordinal);
        Assert.Equal("made with a CLI key", await _server.RevealValueAsync(key, token));

        Ok(await RunAsync("apikeys", "revoke", keyId, "--tenant", tenantId));
        ProblemAssert.Is(await _server.RevealAsync(key, token), 401, "unauthorized");
    }

    [Fact]
    public async Task ApiKeysCreate_WithoutTenant_UsesTheDefaultTenantFromCredentials()
    {
        var keyJson = Parse(Ok(await RunAsync("apikeys", "create", "--scopes", "tokens:write", "--json")));
        var key = keyJson.GetProperty("key").GetString()!;
        var token = await _server.CreateTokenAsync(key, new { value = "default tenant" });
        Assert.Equal("default tenant", await _server.RevealValueAsync(_server.DefaultTenant.Key, token));
    }

    [Fact]
    public async Task Commands_TakeUrlAndKeysFromTheEnvironment_WithoutADataDirectory()
    {
        using var empty = TempDirectory.Create("cli-env");
        var environment = new Dictionary<string, string>
        {
            ["CLOISTER_URL"] = _server.BaseAddress.ToString(),
            ["CLOISTER_API_KEY"] = _server.DefaultTenant.Key,
            ["CLOISTER_ADMIN_KEY"] = _server.AdminKey,
            ["CLOISTER_DATA_DIR"] = empty.Path,
        };

        var created = await CloisterProcess.RunAsync(["tokens", "create", "from the environment"], environment: environment);
        var token = Assert.Single(Ok(created).StdoutLines);
        Assert.Equal("from the environment", Assert.Single(Ok(await CloisterProcess.RunAsync(["tokens", "reveal", token], environment: environment)).StdoutLines));
        Assert.StartsWith("ten_", Assert.Single(Ok(await CloisterProcess.RunAsync(["tenants", "create", "env"], environment: environment)).StdoutLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commands_TakeUrlAndKeyFromFlags()
    {
        using var empty = TempDirectory.Create("cli-flags");
        var created = Ok(await CloisterProcess.RunAsync("tokens", "create", "from flags", "--url", _server.BaseAddress.ToString(), "--key", _server.DefaultTenant.Key, "--data-dir", empty.Path));
        var token = Assert.Single(created.StdoutLines);
        Assert.Equal("from flags", await _server.RevealValueAsync(_server.DefaultTenant.Key, token));
    }

    private static JsonElement Parse(CliResult result)
    {
        try
        {
            using var document = JsonDocument.Parse(result.Stdout);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new Xunit.Sdk.XunitException($"--json output is not JSON ({e.Message}):\n{result}");
        }
    }
}
