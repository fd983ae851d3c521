using System.Globalization;
using Cloister.IntegrationTests.Support;
using Cloister.Storage;

namespace Cloister.IntegrationTests;

/// <summary>
/// Search is a value oracle (a guessed value answers with its tokens), so it has its own scope, tokens:search, and a
/// per-key rate limit; keys of databases from before the scope keep searching only where they could reveal anyway.
/// </summary>
public sealed class SearchLimitTests
{
    [Fact]
    public async Task Search_BeyondTheKeysAllowance_Is429WithRetryAfter_AndOtherKeysAreUnaffected()
    {
        // Two a minute: a bucket of two, one more every 30 s; the test's searches come far faster than that.
        await using var server = await TestServer.StartAsync(configure: o => o with { SearchRequestsPerMinute = 2 });
        var tenant = await server.CreateTenantAsync();
        var (_, other) = await server.CreateApiKeyAsync(tenant.Id, "tokens:search");
        var value = Values.Unique("limited");
        var token = await server.CreateTokenAsync(tenant.Key, new { value });

        Assert.Equal([token], await server.SearchTokensAsync(tenant.Key, value));
        Assert.Equal([token], await server.SearchTokensAsync(tenant.Key, value));
        var refused = await server.SearchAsync(tenant.Key, value);

        var problem = ProblemAssert.Is(refused, 429, "rate-limited");
        Assert.Equal("search", problem.GetProperty("limit").GetString());
        var retryAfter = int.Parse(HeaderValue(refused, "Retry-After"), CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 30);
        Assert.Equal(retryAfter, problem.GetProperty("retryAfterSeconds").GetInt32());
        ProblemAssert.DoesNotContain(refused, value);

        // Malformed searches spend the allowance too; another key of the same tenant has its own.
        ProblemAssert.Is(await server.SendAsync(HttpMethod.Post, "/v1/tokens/search", tenant.Key, "{not json"), 429, "rate-limited");
        Assert.Equal([token], await server.SearchTokensAsync(other, value));
    }

    [Fact]
    public async Task FirstStartTenantKey_HoldsTheSearchScope()
    {
        await using var server = await TestServer.StartAsync();
        var value = Values.Unique("tour");
        var token = await server.CreateTokenAsync(server.DefaultTenant.Key, new { value });

        Assert.Equal([token], await server.SearchTokensAsync(server.DefaultTenant.Key, value));
    }

    [Fact]
    public async Task DatabaseFromBeforeTheScope_KeysThatCouldRevealKeepSearching_WriteOnlyKeysDoNot()
    {
        using var data = TempDirectory.Create("search-upgrade");
        string tenantId, everything, readWrite, writeOnly;
        string? readWriteId, writeOnlyId;
        await using (var server = await TestServer.StartAsync(data.Path))
        {
            tenantId = server.DefaultTenant.Id;
            everything = server.DefaultTenant.Key;
            (readWriteId, readWrite) = await server.CreateApiKeyAsync(tenantId, "tokens:write", "tokens:reveal");
            (writeOnlyId, writeOnly) = await server.CreateApiKeyAsync(tenantId, "tokens:write");
        }

        // Rewind to schema 3, where tokens:write opened search and no key held tokens:search.
        using (var db = VaultDatabase.Open(data.Path))
        {
            using var command = db.CreateCommand();
            command.CommandText = """UPDATE api_keys SET scopes = replace(replace(scopes, ',"tokens:search"', ''), '"tokens:search",', ''); PRAGMA user_version = 3;""";
            command.ExecuteNonQuery();
        }

        Assert.Equal(0, VaultDatabase.Scalar(data.Path, "SELECT count(*) FROM api_keys WHERE scopes LIKE '%tokens:search%'"));

        await using (var server = await TestServer.StartAsync(data.Path))
        {
            var value = Values.Unique("upgraded");
            var token = await server.CreateTokenAsync(everything, new { value });

            Assert.Equal([token], await server.SearchTokensAsync(everything, value));
            Assert.Equal([token], await server.SearchTokensAsync(readWrite, value));
            var problem = ProblemAssert.Is(await server.SearchAsync(writeOnly, value), 403, "missing-scope");
            Assert.Equal("tokens:search", problem.GetProperty("scope").GetString());

            var migrated = Assert.Single(VaultDatabase.Query(data.Path, "SELECT targets, actor FROM audit WHERE action = 'apikey.scopes.migrate' AND tenant_id = $t", ("$t", tenantId)));
            Assert.Contains(readWriteId!, (string)migrated[0]!, StringComparison.Ordinal);
            Assert.DoesNotContain(writeOnlyId!, (string)migrated[0]!, StringComparison.Ordinal);
            Assert.Equal("system", migrated[1]);
        }

        Assert.True(AuditVerifier.Verify(data.Path).Ok);
    }

    private static string HeaderValue(ApiResponse response, string name)
        => response.Headers.Split('\n').Select(l => l.Split(':', 2)).First(p => p[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))[1].Trim();
}
