using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>Behaviours added after the security review: each test is one finding that must stay fixed.</summary>
public sealed class HardeningTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    [Fact]
    public async Task AdminKey_CanBeReplacedAndTheOldOneRevoked()
    {
        var created = await _server.SendAsync(HttpMethod.Post, "/v1/admin/apikeys", _server.AdminKey);
        Assert.Equal(201, created.StatusCode);
        var replacement = created.Json.GetProperty("key").GetString()!;
        var replacementId = created.Json.GetProperty("id").GetString()!;

        var another = await _server.SendAsync(HttpMethod.Post, "/v1/admin/apikeys", replacement);
        var anotherKey = another.Json.GetProperty("key").GetString()!;
        var anotherId = another.Json.GetProperty("id").GetString()!;

        // The key in use cannot revoke itself, so an admin key always remains.
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Delete, $"/v1/admin/apikeys/{replacementId}", replacement), 409, "revoke-own-key");

        Assert.Equal(204, (await _server.SendAsync(HttpMethod.Delete, $"/v1/admin/apikeys/{anotherId}", replacement)).StatusCode);
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/tenants", anotherKey, TestServer.Json(new { name = "x" })), 401, "unauthorized");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Delete, $"/v1/admin/apikeys/{anotherId}", replacement), 404, "apikey-not-found");

        // A tenant key can neither create nor revoke admin keys.
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/admin/apikeys", _server.DefaultTenant.Key), 403, "missing-scope");
    }

    [Fact]
    public async Task Search_IsAudited_WithTheMatchesButNeverTheValue()
    {
        var tenant = await _server.CreateTenantAsync();
        var value = "search-audit-" + Guid.NewGuid().ToString("N");
        var token = await _server.CreateTokenAsync(tenant.Key, new { value });

        Assert.Equal([token], await _server.SearchTokensAsync(tenant.Key, value));

        var rows = VaultDatabase.Query(_server.DataDirectory, "SELECT targets, detail FROM audit WHERE action = 'token.search' AND tenant_id = $t", ("$t", tenant.Id));
        var row = Assert.Single(rows);
        Assert.Contains(token, (string)row[0]!, StringComparison.Ordinal);
        Assert.DoesNotContain(value, (string)row[0]! + row[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_FailingInALaterRetryRound_LeavesNoTokenBehind()
    {
        var tenant = await _server.CreateTenantAsync();
        for (var i = 0; i < 9; i++)
        {
            await _server.CreateTokenAsync(tenant.Key, new { value = "5", format = "numeric" });
        }

        var orphan = "orphan-" + Guid.NewGuid().ToString("N");
        var response = await _server.BatchAsync(tenant.Key, [new { value = orphan }, new { value = "5", format = "numeric" }]);

        var problem = ProblemAssert.Is(response, 409, "token-space-exhausted");
        Assert.Equal(1, problem.GetProperty("index").GetInt32());
        Assert.Empty(await _server.SearchTokensAsync(tenant.Key, orphan));
    }

    [Fact]
    public async Task Fpe_SameValueWithAnotherClassifier_IsAConflictNotSomeoneElsesRecord()
    {
        var tenant = await _server.CreateTenantAsync();
        var first = await _server.CreateOkAsync(tenant.Key, new { value = "5555444433332222", format = "fpe", classifier = "a", ttlSeconds = 3600 });
        Assert.Equal("a", first.Json.GetProperty("classifier").GetString());

        ProblemAssert.Is(await _server.CreateAsync(tenant.Key, new { value = "5555444433332222", format = "fpe", classifier = "b" }), 409, "token-conflict");

        // The same classifier gets the same token back.
        var again = await _server.CreateOkAsync(tenant.Key, new { value = "5555444433332222", format = "fpe", classifier = "a" });
        Assert.Equal(first.Json.GetProperty("token").GetString(), again.Json.GetProperty("token").GetString());
    }

    [Theory]
    [InlineData("Patient John Smith MRN 12345678")]
    [InlineData("12/34/567890")]
    public async Task Fpe_FreeTextOrUrlCharacters_AreRejectedNotPassedThrough(string value)
    {
        var response = await _server.CreateAsync(_server.DefaultTenant.Key, new { value, format = "fpe" });

        ProblemAssert.Is(response, 400, "invalid-value");
        ProblemAssert.DoesNotContain(response, value);
    }

    // 16 MiB: sent outright, the server's 413 and close came before the client finished writing in 5 runs of 5 (a broken
    // pipe on the client); at 1,100 KiB in about one run of two of the whole suite. Expect: 100-continue makes it deterministic.
    [Theory]
    [InlineData(1100 * 1024)]
    [InlineData(16 * 1024 * 1024)]
    public async Task SingleCreate_BodyOverOneMebibyte_Is413(int valueLength)
    {
        var body = "{\"value\":\"" + new string('a', valueLength) + "\"}";
        var response = await _server.SendOversizedAsync(HttpMethod.Post, "/v1/tokens", _server.DefaultTenant.Key, body);

        ProblemAssert.Is(response, 413, "body-too-large");
    }

    [Fact]
    public async Task Reveal_IsNeverCached()
    {
        var token = await _server.CreateTokenAsync(_server.DefaultTenant.Key, new { value = "cache me not" });

        using var request = new HttpRequestMessage(HttpMethod.Post, TestServer.TokenPath(token) + "/reveal");
        request.Headers.Authorization = new("Bearer", _server.DefaultTenant.Key);
        using var response = await _server.Http.SendAsync(request);

        response.EnsureSuccessStatusCode();
        Assert.True(response.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task Classifier_WithATrailingNewline_IsRejected()
        => ProblemAssert.Is(await _server.CreateAsync(_server.DefaultTenant.Key, new { value = "x", classifier = "pii\n" }), 400, "invalid-request");
}

/// <summary>Configuration from the environment cannot add listening addresses behind the listen plan's back.</summary>
[Collection(nameof(EnvironmentMutatingCollection))]
public sealed class KestrelConfigurationTests
{
    [Fact]
    public async Task KestrelEndpointsFromTheEnvironment_AreIgnored()
    {
        const string Variable = "Kestrel__Endpoints__sneaky__Url";
        Environment.SetEnvironmentVariable(Variable, "http://0.0.0.0:0");
        try
        {
            await using var server = await TestServer.StartAsync();
            Assert.All(server.Host.Addresses, a => Assert.StartsWith("http://127.0.0.1:", a, StringComparison.Ordinal));
        }
        finally
        {
            Environment.SetEnvironmentVariable(Variable, null);
        }
    }
}

[CollectionDefinition(nameof(EnvironmentMutatingCollection), DisableParallelization = true)]
public sealed class EnvironmentMutatingCollection;
