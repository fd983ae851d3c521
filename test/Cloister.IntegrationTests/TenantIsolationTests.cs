using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>Another tenant's token is indistinguishable from a token that does not exist.</summary>
public sealed class TenantIsolationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    [Theory]
    [InlineData("random", "isolated value")]
    [InlineData("numeric", "1234567890123")]
    [InlineData("pan", "4111111111111111")]
    [InlineData("ssn-last4", "123-45-6789")]
    [InlineData("fpe", "4111-1111-1111-1111")]
    public async Task OtherTenantsToken_GetRevealDelete_AnswerExactlyLikeAnUnknownToken(string format, string value)
    {
        var owner = await _server.CreateTenantAsync();
        var other = await _server.CreateTenantAsync();
        var elsewhere = await _server.CreateTenantAsync();
        var token = await _server.CreateTokenAsync(owner.Key, new { value, format });

        // A token of the same shape that never existed for `other`.
        var unknown = await _server.CreateTokenAsync(elsewhere.Key, new { value = format == "fpe" ? "9999-9999-9999-9999" : value, format });
        Assert.NotEqual(token, unknown);

        foreach (var route in new Func<string, Task<ApiResponse>>[]
        {
            t => _server.GetAsync(other.Key, t),
            t => _server.RevealAsync(other.Key, t),
            t => _server.DeleteAsync(other.Key, t),
        })
        {
            var foreign = await route(token);
            var missing = await route(unknown);
            ProblemAssert.Is(foreign, 404, "token-not-found");
            Assert.Equal(missing.StatusCode, foreign.StatusCode);
            Assert.Equal(missing.MediaType, foreign.MediaType);
            Assert.Equal(missing.BodyWithoutTraceId(), foreign.BodyWithoutTraceId());
            ProblemAssert.DoesNotContain(foreign, value);
        }

        // The owner's token survived the other tenant's delete.
        Assert.Equal(value, await _server.RevealValueAsync(owner.Key, token));
    }

    [Fact]
    public async Task OtherTenant_SearchForTheSameValue_FindsNothingOfTheOwners()
    {
        var owner = await _server.CreateTenantAsync();
        var other = await _server.CreateTenantAsync();
        var value = Values.Card();
        await _server.CreateTokenAsync(owner.Key, new { value, format = "pan" });
        await _server.CreateTokenAsync(owner.Key, new { value, deterministic = true });

        Assert.Empty(await _server.SearchTokensAsync(other.Key, value));
    }

    [Fact]
    public async Task OtherTenant_Deterministic_DoesNotReuseTheOwnersToken()
    {
        var owner = await _server.CreateTenantAsync();
        var other = await _server.CreateTenantAsync();
        var value = Values.Unique("det");
        var mine = await _server.CreateTokenAsync(owner.Key, new { value, deterministic = true });
        var theirs = await _server.CreateTokenAsync(other.Key, new { value, deterministic = true });
        Assert.NotEqual(mine, theirs);
        ProblemAssert.Is(await _server.RevealAsync(other.Key, mine), 404, "token-not-found");
        ProblemAssert.Is(await _server.RevealAsync(owner.Key, theirs), 404, "token-not-found");
    }

    [Fact]
    public async Task RevokingAKey_UnderAnotherTenantsId_IsApiKeyNotFound_AndTheKeyKeepsWorking()
    {
        var owner = await _server.CreateTenantAsync();
        var other = await _server.CreateTenantAsync();

        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Delete, $"/v1/tenants/{other.Id}/apikeys/{owner.KeyId}", _server.AdminKey), 404, "apikey-not-found");

        (await _server.CreateAsync(owner.Key, new { value = "still works" })).Expect(201);
    }

    [Fact]
    public async Task TenantKey_OnlyEverSeesItsOwnTenant_InBatches()
    {
        var a = await _server.CreateTenantAsync();
        var b = await _server.CreateTenantAsync();
        var batch = (await _server.BatchAsync(a.Key, Enumerable.Range(0, 50).Select(i => (object)new { value = $"a-{i}" }))).Expect(200);
        foreach (var item in batch.Json.GetProperty("items").EnumerateArray())
        {
            ProblemAssert.Is(await _server.RevealAsync(b.Key, item.GetProperty("token").GetString()!), 404, "token-not-found");
        }
    }
}
