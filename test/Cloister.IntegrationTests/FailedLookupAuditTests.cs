using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Cloister.IntegrationTests.Support;
using Cloister.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.IntegrationTests;

/// <summary>
/// Lookups of tokens that are not the caller's (another tenant's, unknown, expired) are audited, aggregated per key so
/// that a prober cannot flood the log, in the prober's own tenant, never with a value, and answer 404 exactly alike.
/// </summary>
public sealed class FailedLookupAuditTests
{
    private const string Action = "token.lookup.failed";

    [Fact]
    public async Task ThousandsOfProbes_OfAnotherTenantsTokens_AreOneEntryInTheProbersTenant_NamingNoValue()
    {
        using var data = TempDirectory.Create("probes");
        var card = Values.Card();
        var secret = Values.Unique("owner-secret");
        string proberTenant, proberKeyId, ownerTenant;
        var answers = new ConcurrentBag<ApiResponse>();
        var owned = new List<string>();
        await using (var server = await TestServer.StartAsync(data.Path))
        {
            var owner = await server.CreateTenantAsync();
            var prober = await server.CreateTenantAsync();
            (proberTenant, proberKeyId, ownerTenant) = (prober.Id, prober.KeyId!, owner.Id);
            owned.Add(await server.CreateTokenAsync(owner.Key, new { value = secret }));
            owned.Add(await server.CreateTokenAsync(owner.Key, new { value = card, format = "pan" }));
            owned.Add(await server.CreateTokenAsync(owner.Key, new { value = secret + "-2" }));
            var unknown = await server.CreateTokenAsync(owner.Key, new { value = "to be deleted" });
            (await server.DeleteAsync(owner.Key, unknown)).Expect(204);

            // The owner's tokens and one that no longer exists answer the prober alike.
            foreach (var token in owned)
            {
                Assert.Equal((await server.RevealAsync(prober.Key, unknown)).BodyWithoutTraceId(), (await server.RevealAsync(prober.Key, token)).BodyWithoutTraceId());
            }

            // 3,000 probes from four clients: reveal, get and delete of the owner's tokens, of unknown tokens, and of a
            // string that is a value (a card number pasted where a token belongs).
            var probes = Enumerable.Range(0, 3_000).Select(i => (Kind: i % 3, Target: (i % 5) switch
            {
                0 => owned[i % owned.Count],
                1 => card,
                _ => "tok_" + Base58Of(i),
            })).ToList();
            await Task.WhenAll(probes.Chunk(750).Select(chunk => Task.Run(async () =>
            {
                using var client = server.CreateHttpClient();
                foreach (var (kind, target) in chunk)
                {
                    answers.Add(kind switch
                    {
                        0 => await server.RevealAsync(prober.Key, target, client),
                        1 => await server.GetAsync(prober.Key, target, client),
                        _ => await server.SendAsync(HttpMethod.Delete, TestServer.TokenPath(target), prober.Key, null, client),
                    });
                }
            })));

            Assert.All(answers, a => ProblemAssert.Is(a, 404, "token-not-found"));
            Assert.Single(answers.Select(a => a.BodyWithoutTraceId()).Distinct());
        }

        // Written when the server stopped (the default interval, a minute, had not passed): one entry for the key.
        var entry = Assert.Single(VaultDatabase.Query(data.Path, "SELECT tenant_id, actor, targets, detail FROM audit WHERE action = $a", ("$a", Action)));
        Assert.Equal(proberTenant, entry[0]);
        Assert.Equal(proberKeyId, entry[1]);
        var detail = (string)entry[3]!;
        Assert.StartsWith(((2 * owned.Count) + answers.Count).ToString(CultureInfo.InvariantCulture) + " lookups", detail, StringComparison.Ordinal);
        Assert.Contains("reveal 1006", detail, StringComparison.Ordinal);
        Assert.Contains("get 1000", detail, StringComparison.Ordinal);
        Assert.Contains("delete 1000", detail, StringComparison.Ordinal);

        var targets = JsonSerializer.Deserialize<string[]>((string)entry[2]!)!;
        Assert.InRange(targets.Length, 1, 10);
        Assert.All(targets, t => Assert.Matches(Values.RandomToken(), t));
        Assert.Equal(targets.Length, targets.Distinct().Count());

        // No value anywhere in the log; nothing about the probes in the owner's tenant.
        foreach (var row in VaultDatabase.Query(data.Path, "SELECT targets, coalesce(detail, '') FROM audit"))
        {
            foreach (var value in new[] { card, secret })
            {
                Assert.DoesNotContain(value, (string)row[0]! + row[1], StringComparison.Ordinal);
            }
        }

        Assert.Equal(0, VaultDatabase.Scalar(data.Path, "SELECT count(*) FROM audit WHERE tenant_id = $t AND action NOT IN ('tenant.create', 'apikey.create', 'token.create', 'token.delete')", ("$t", ownerTenant)));
        Assert.True(AuditVerifier.Verify(data.Path).Ok);
    }

    [Fact]
    public async Task WhileTheServerRuns_FailuresAreWrittenEveryInterval_ExpiredAndSealedIncluded()
    {
        var interval = TimeSpan.FromSeconds(1);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TestServer.StartAsync(configure: o => o with { FailedLookupAuditInterval = interval }, time: clock);
        var tenant = await server.CreateTenantAsync();
        var expiring = await server.CreateTokenAsync(tenant.Key, new { value = "short-lived", ttlSeconds = 1 });
        (await server.GetAsync(tenant.Key, expiring)).Expect(200);

        clock.Advance(TimeSpan.FromSeconds(1));
        ProblemAssert.Is(await server.GetAsync(tenant.Key, expiring), 404, "token-not-found");
        var sealedReveal = await server.SendAsync(HttpMethod.Post, "/v1/sealed/reveal", tenant.Key, TestServer.Json(new { tokens = new[] { expiring }, sealedRequest = "AAAA" }));
        Assert.Equal(0, ProblemAssert.Is(sealedReveal, 404, "token-not-found").GetProperty("index").GetInt32());
        const int notFound = 2;

        // Written by the interval timer, without a stop; the flush runs on the audit's own task, so it is polled for
        // with a generous bound.
        clock.Advance(interval);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        long counted;
        while ((counted = Counted(server.DataDirectory, tenant.Id)) < notFound && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(notFound, counted);
        Assert.Contains(VaultDatabase.Query(server.DataDirectory, "SELECT detail FROM audit WHERE action = $a AND tenant_id = $t", ("$a", Action), ("$t", tenant.Id)), r => ((string)r[0]!).Contains("sealed-reveal 1", StringComparison.Ordinal));
    }

    /// <summary>The failed lookups counted in a tenant's entries so far.</summary>
    private static long Counted(string dataDirectory, string tenantId)
        => VaultDatabase.Query(dataDirectory, "SELECT detail FROM audit WHERE action = $a AND tenant_id = $t", ("$a", Action), ("$t", tenantId))
            .Sum(r => long.Parse(((string)r[0]!).Split(' ')[0], CultureInfo.InvariantCulture));

    private static string Base58Of(int i)
    {
        const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        var chars = new char[22];
        for (var k = 0; k < chars.Length; k++)
        {
            chars[k] = Alphabet[(i + (k * 7)) % Alphabet.Length];
        }

        return new string(chars);
    }
}
