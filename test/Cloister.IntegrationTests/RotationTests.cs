using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>Data-key rotation: old tokens keep revealing, re-encryption moves them to the new version, fpe is untouched.</summary>
public sealed class RotationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    [Fact]
    public async Task Rotate_TokensCreatedBefore_StillReveal_AndAfterReencryptionAreAtVersion2()
    {
        var tenant = await _server.CreateTenantAsync();
        var tokens = new Dictionary<string, string>
        {
            [await _server.CreateTokenAsync(tenant.Key, new { value = "random before rotation" })] = "random before rotation",
            [await _server.CreateTokenAsync(tenant.Key, new { value = "31415926535", format = "numeric" })] = "31415926535",
            [await _server.CreateTokenAsync(tenant.Key, new { value = "4111111111111111", format = "pan" })] = "4111111111111111",
            [await _server.CreateTokenAsync(tenant.Key, new { value = "5555555555554444", format = "pan-last4" })] = "5555555555554444",
            [await _server.CreateTokenAsync(tenant.Key, new { value = "123-45-6789", format = "ssn-last4" })] = "123-45-6789",
            [await _server.CreateTokenAsync(tenant.Key, new { value = "deterministic before", deterministic = true })] = "deterministic before",
        };

        // More than one re-encryption batch (500 by default).
        var batch = (await _server.BatchAsync(tenant.Key, Enumerable.Range(0, 600).Select(i => (object)new { value = $"bulk-{i}" }))).Expect(200);
        var i = 0;
        foreach (var item in batch.Json.GetProperty("items").EnumerateArray())
        {
            tokens[item.GetProperty("token").GetString()!] = $"bulk-{i++}";
        }

        foreach (var token in tokens.Keys.Take(6))
        {
            Assert.Equal(1, (await _server.GetAsync(tenant.Key, token)).Expect(200).Json.GetProperty("keyVersion").GetInt32());
        }

        var rotated = (await _server.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant.Id}/datakeys/rotate", _server.AdminKey)).Expect(200);
        Assert.Equal(tenant.Id, rotated.Text("tenantId"));
        Assert.Equal(2, rotated.Json.GetProperty("version").GetInt32());

        foreach (var (token, value) in tokens.Take(20))
        {
            Assert.Equal(value, await _server.RevealValueAsync(tenant.Key, token));
        }

        await _server.Host.ReencryptNowAsync(CancellationToken.None);

        foreach (var (token, value) in tokens)
        {
            Assert.Equal(2, (await _server.GetAsync(tenant.Key, token)).Expect(200).Json.GetProperty("keyVersion").GetInt32());
            Assert.Equal(value, await _server.RevealValueAsync(tenant.Key, token));
        }

        // Deterministic tokens keep their identity across rotation.
        var again = await _server.CreateTokenAsync(tenant.Key, new { value = "deterministic before", deterministic = true });
        Assert.Equal("deterministic before", await _server.RevealValueAsync(tenant.Key, again));
        Assert.True(tokens.ContainsKey(again), "a deterministic token changed after rotation");
    }

    [Fact]
    public async Task Rotate_NewTokens_UseTheNewVersion()
    {
        var tenant = await _server.CreateTenantAsync();
        Assert.Equal(2, await _server.RotateAsync(tenant.Id));
        var token = await _server.CreateTokenAsync(tenant.Key, new { value = "after rotation" });
        Assert.Equal(2, (await _server.GetAsync(tenant.Key, token)).Expect(200).Json.GetProperty("keyVersion").GetInt32());
        Assert.Equal("after rotation", await _server.RevealValueAsync(tenant.Key, token));
    }

    [Fact]
    public async Task Rotate_FpeTokens_AreUnaffected()
    {
        var tenant = await _server.CreateTenantAsync();
        var values = new[] { ("4111-1111-1111-1111", "digits"), ("alice.smith-42", "lower-alnum"), ("AbC-123 xYz", "alnum") };
        var before = new List<string>();
        foreach (var (value, alphabet) in values)
        {
            before.Add(await _server.CreateTokenAsync(tenant.Key, new { value, format = "fpe", alphabet }));
        }

        await _server.RotateAsync(tenant.Id);
        await _server.Host.ReencryptNowAsync(CancellationToken.None);

        for (var i = 0; i < values.Length; i++)
        {
            var (value, alphabet) = values[i];
            Assert.Equal(value, await _server.RevealValueAsync(tenant.Key, before[i]));
            Assert.Equal(before[i], await _server.CreateTokenAsync(tenant.Key, new { value, format = "fpe", alphabet }));
        }
    }

    [Fact]
    public async Task Rotate_Twice_EveryGenerationStillReveals()
    {
        var tenant = await _server.CreateTenantAsync();
        var v1 = await _server.CreateTokenAsync(tenant.Key, new { value = "gen1" });
        Assert.Equal(2, await _server.RotateAsync(tenant.Id));
        var v2 = await _server.CreateTokenAsync(tenant.Key, new { value = "gen2" });
        Assert.Equal(3, await _server.RotateAsync(tenant.Id));
        var v3 = await _server.CreateTokenAsync(tenant.Key, new { value = "gen3" });

        Assert.Equal("gen1", await _server.RevealValueAsync(tenant.Key, v1));
        Assert.Equal("gen2", await _server.RevealValueAsync(tenant.Key, v2));

        await _server.Host.ReencryptNowAsync(CancellationToken.None);

        foreach (var (token, value) in new[] { (v1, "gen1"), (v2, "gen2"), (v3, "gen3") })
        {
            Assert.Equal(3, (await _server.GetAsync(tenant.Key, token)).Expect(200).Json.GetProperty("keyVersion").GetInt32());
            Assert.Equal(value, await _server.RevealValueAsync(tenant.Key, token));
        }
    }

    [Fact]
    public async Task Rotate_OneTenant_LeavesAnotherTenantsTokensAlone()
    {
        var rotated = await _server.CreateTenantAsync();
        var untouched = await _server.CreateTenantAsync();
        var token = await _server.CreateTokenAsync(untouched.Key, new { value = "bystander" });

        await _server.RotateAsync(rotated.Id);
        await _server.Host.ReencryptNowAsync(CancellationToken.None);

        Assert.Equal(1, (await _server.GetAsync(untouched.Key, token)).Expect(200).Json.GetProperty("keyVersion").GetInt32());
        Assert.Equal("bystander", await _server.RevealValueAsync(untouched.Key, token));
    }
}
