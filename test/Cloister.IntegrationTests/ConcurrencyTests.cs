using System.Collections.Concurrent;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>Many clients creating and revealing at once lose nothing and never cross tenants.</summary>
public sealed class ConcurrencyTests
{
    private const int TasksPerTenant = 4;
    private const int OperationsPerTask = 200;

    [Fact]
    public async Task ParallelCreatesAndReveals_FromTwoTenants_LoseNothingAndNeverCrossTenants()
    {
        await using var server = await TestServer.StartAsync();
        var tenants = new[] { await server.CreateTenantAsync(), await server.CreateTenantAsync() };
        var created = new ConcurrentBag<(int Tenant, string Token, string Value)>();
        var formats = new[] { "random", "numeric", "fpe", "random" };

        var workers = Enumerable.Range(0, tenants.Length * TasksPerTenant).Select(worker => Task.Run(async () =>
        {
            var t = worker % tenants.Length;
            var key = tenants[t].Key;
            using var client = server.CreateHttpClient();
            for (var i = 0; i < OperationsPerTask; i++)
            {
                var format = formats[i % formats.Length];
                var value = format == "random" ? $"t{t}-w{worker}-op{i}-{Guid.NewGuid():N}" : $"{t}{worker}{i:D4}{Values.Digits(10)}";
                var token = await server.CreateTokenAsync(key, new { value, format }, client);
                created.Add((t, token, value));

                // Reveal something this worker made earlier, while the others keep writing.
                var j = Random.Shared.Next(0, i + 1);
                if (j == i)
                {
                    Assert.Equal(value, await server.RevealValueAsync(key, token, client));
                }
            }
        })).ToList();
        await Task.WhenAll(workers);

        Assert.Equal(tenants.Length * TasksPerTenant * OperationsPerTask, created.Count);
        Assert.Equal(created.Count, created.Select(c => (c.Tenant, c.Token)).Distinct().Count());

        // Every token reveals to its own value for its tenant, and is unknown to the other tenant, again in parallel.
        var checks = created.Chunk(100).Select(chunk => Task.Run(async () =>
        {
            using var client = server.CreateHttpClient();
            foreach (var (t, token, value) in chunk)
            {
                Assert.Equal(value, await server.RevealValueAsync(tenants[t].Key, token, client));
                var foreign = await server.RevealAsync(tenants[1 - t].Key, token, client);
                if (foreign.StatusCode != 404)
                {
                    // A token string can exist in both tenants by chance only for short numeric tokens; it must then hold the other tenant's own value.
                    Assert.Equal(200, foreign.StatusCode);
                    Assert.Contains(created, c => c.Tenant == 1 - t && c.Token == token && c.Value == foreign.Text("value"));
                }
            }
        }));
        await Task.WhenAll(checks);

        // Search sees exactly one token per value in its own tenant.
        foreach (var (t, token, value) in created.Take(40))
        {
            Assert.Equal([token], await server.SearchTokensAsync(tenants[t].Key, value));
            Assert.Empty(await server.SearchTokensAsync(tenants[1 - t].Key, value));
        }
    }

    [Fact]
    public async Task ParallelBatchesAndDeterministicCreates_AgreeOnOneTokenPerValue()
    {
        await using var server = await TestServer.StartAsync();
        var tenant = await server.CreateTenantAsync();
        var values = Enumerable.Range(0, 50).Select(i => $"shared-{i}-{Guid.NewGuid():N}").ToArray();

        // Eight clients race to tokenize the same values deterministically.
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            using var client = server.CreateHttpClient();
            var tokens = new List<string>();
            foreach (var value in values)
            {
                tokens.Add(await server.CreateTokenAsync(tenant.Key, new { value, deterministic = true }, client));
            }

            return tokens;
        })));

        for (var i = 0; i < values.Length; i++)
        {
            var tokens = results.Select(r => r[i]).Distinct().ToList();
            Assert.Single(tokens);
            Assert.Equal(values[i], await server.RevealValueAsync(tenant.Key, tokens[0]));
        }
    }

    [Fact]
    public async Task ParallelCreatesAndReveals_WhileTheDataKeyRotates_AllRevealAndEndAtTheNewVersion()
    {
        await using var server = await TestServer.StartAsync();
        var tenant = await server.CreateTenantAsync();
        var created = new ConcurrentBag<(string Token, string Value)>();

        var writers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            using var client = server.CreateHttpClient();
            for (var i = 0; i < 150; i++)
            {
                var value = $"w{worker}-{i}-{Guid.NewGuid():N}";
                var token = await server.CreateTokenAsync(tenant.Key, new { value }, client);
                created.Add((token, value));
                Assert.Equal(value, await server.RevealValueAsync(tenant.Key, token, client));
            }
        })).ToList();

        var rotations = 0;
        while (!writers.All(w => w.IsCompleted) && rotations < 3)
        {
            await Task.Delay(50);
            await server.RotateAsync(tenant.Id);
            rotations++;
        }

        await Task.WhenAll(writers);
        await server.Host.ReencryptNowAsync(CancellationToken.None);

        var finalVersion = 1 + rotations;
        foreach (var (token, value) in created)
        {
            Assert.Equal(finalVersion, (await server.GetAsync(tenant.Key, token)).Expect(200).Json.GetProperty("keyVersion").GetInt32());
            Assert.Equal(value, await server.RevealValueAsync(tenant.Key, token));
        }

        Assert.Equal(600, created.Count);
    }
}
