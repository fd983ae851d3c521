using Cloister.Client;
using Cloister.IntegrationTests.Support;
using Microsoft.Extensions.Logging;

namespace Cloister.IntegrationTests;

/// <summary>
/// Tokenizes canary values, then drives every error path with them (through raw HTTP, the .NET client
/// and the CLI) on a server logging at Trace. The tests then search every answer, every captured log
/// line, every client and CLI error, and the data directory's files for the canaries.
/// </summary>
public sealed class LeakFixture : IAsyncLifetime
{
    public string Canary { get; } = "CANARY-7f3e-" + Guid.NewGuid().ToString("N");

    public string Card { get; } = Values.Card(16, "49");

    public string BadCard { get; } = Values.BadCard(16);

    public string Ssn { get; } = "9" + Values.Ssn()[1..];

    /// <summary>Every form of every canary that must never leak.</summary>
    public IReadOnlyList<string> Canaries => [Canary, Card, BadCard, Ssn, Ssn.Replace("-", "", StringComparison.Ordinal)];

    public TestServer Server { get; private set; } = null!;

    /// <summary>The key of the tenant that holds <see cref="Tokens"/>.</summary>
    public string TenantKey { get; private set; } = "";

    /// <summary>Token → the canary it stands for.</summary>
    public Dictionary<string, string> Tokens { get; } = [];

    /// <summary>Client exception texts (message and stack) and CLI output.</summary>
    public List<string> ErrorTexts { get; } = [];

    public async Task InitializeAsync()
    {
        Server = await TestServer.StartAsync(logLevel: LogLevel.Trace);
        await DriveAsync();
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    private async Task DriveAsync()
    {
        var s = Server;
        var tenant = await s.CreateTenantAsync();
        TenantKey = tenant.Key;
        var other = await s.CreateTenantAsync();
        var (writeOnlyId, writeOnly) = await s.CreateApiKeyAsync(tenant.Id, "tokens:write");
        var (_, revealOnly) = await s.CreateApiKeyAsync(tenant.Id, "tokens:reveal");
        var (revokedId, revoked) = await s.CreateApiKeyAsync(tenant.Id);
        await s.RevokeApiKeyAsync(tenant.Id, revokedId);
        _ = writeOnlyId;

        // Successful tokenizations of every canary, in several formats.
        var expiring = await s.CreateTokenAsync(tenant.Key, new { value = Canary, ttlSeconds = 1 });
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(1.2);
        Tokens[await s.CreateTokenAsync(tenant.Key, new { value = Canary })] = Canary;
        Tokens[await s.CreateTokenAsync(tenant.Key, new { value = Canary, deterministic = true, metadata = new { note = "leak test" } })] = Canary;
        Tokens[await s.CreateTokenAsync(tenant.Key, new { value = Canary, format = "fpe", alphabet = "alnum" })] = Canary;
        Tokens[await s.CreateTokenAsync(tenant.Key, new { value = Card, format = "pan" })] = Card;
        Tokens[await s.CreateTokenAsync(tenant.Key, new { value = Card, format = "pan-last4" })] = Card;
        Tokens[await s.CreateTokenAsync(tenant.Key, new { value = Card, format = "fpe" })] = Card;
        Tokens[await s.CreateTokenAsync(tenant.Key, new { value = Card, format = "numeric" })] = Card;
        Tokens[await s.CreateTokenAsync(tenant.Key, new { value = Ssn, format = "ssn-last4" })] = Ssn;
        var batch = (await s.BatchAsync(tenant.Key, [new { value = Canary }, new { value = Card, format = "pan" }, new { value = Ssn, format = "ssn-last4" }])).Expect(200);
        foreach (var (item, value) in batch.Json.GetProperty("items").EnumerateArray().Zip([Canary, Card, Ssn]))
        {
            Tokens[item.GetProperty("token").GetString()!] = value;
        }

        foreach (var token in Tokens.Keys)
        {
            await s.GetAsync(tenant.Key, token);
            await s.RevealAsync(tenant.Key, token);
        }

        await s.SearchAsync(tenant.Key, Canary);
        await s.SearchAsync(tenant.Key, Card);
        await s.SearchAsync(other.Key, Canary);

        // Every validation error, with a canary in the request.
        var padding = new string('a', 64 * 1024);
        object[] badCreates =
        [
            new { value = Canary, format = "bogus" },
            new { value = Canary, format = "fpe", alphabet = "hex" },
            new { value = Canary + padding },
            new { value = padding + Canary },
            new { value = Canary, format = "numeric", deterministic = true, classifier = "x", ttlSeconds = 5, metadata = new { padding } },
            new { value = BadCard, format = "pan" },
            new { value = BadCard, format = "pan-last4" },
            new { value = BadCard + "1", format = "pan" },
            new { value = Canary, format = "pan" },
            new { value = Canary, format = "ssn-last4" },
            new { value = Ssn + "0", format = "ssn-last4" },
            new { value = string.Concat(Enumerable.Repeat(Canary, 4)), format = "numeric" },
            new { value = string.Concat(Enumerable.Repeat(Canary, 8)), format = "fpe", alphabet = "alnum" },
            new { value = Card[..5], format = "fpe" },
            new { value = "Patient " + Canary + " MRN 12345678", format = "fpe" },
            new { value = Canary, alphabet = "digits" },
            new { value = Canary, ttlSeconds = 0 },
            new { value = Canary, classifier = "NOT VALID" },
            new { value = Canary, metadata = new[] { 1 } },
        ];
        foreach (var body in badCreates)
        {
            await s.CreateAsync(tenant.Key, body);
        }

        string[] malformed =
        [
            "{\"value\":\"" + Canary,
            "{\"value\":\"" + Canary + "\",\"format\":5}",
            "{\"value\":\"" + Canary + "\",}",
            "{\"value\":[\"" + Canary + "\"]}",
            "{\"value\":\"" + Canary + "\" \"format\":\"pan\"}",
            "{\"value\":" + Canary + "}",
            "{\"value\":\"" + Canary + "\\q\"}",
            "{\"value\":" + Card + "}",
            "{\"value\":" + Card + "x}",
            Canary,
        ];
        foreach (var body in malformed)
        {
            await s.SendAsync(HttpMethod.Post, "/v1/tokens", tenant.Key, body);
            await s.SendAsync(HttpMethod.Post, "/v1/tokens/batch", tenant.Key, "{\"items\":[" + body + "]}");
            await s.SendAsync(HttpMethod.Post, "/v1/tokens/search", tenant.Key, body);
        }

        await s.SendWithAuthorizationAsync(HttpMethod.Post, "/v1/tokens", "Bearer " + tenant.Key, TestServer.Json(new { value = Canary }), "text/plain");
        await s.SendAsync(HttpMethod.Put, "/v1/tokens", tenant.Key, TestServer.Json(new { value = Canary }));
        await s.SendAsync(HttpMethod.Post, "/v1/nope", tenant.Key, TestServer.Json(new { value = Canary }));
        await s.SendAsync(HttpMethod.Post, "/v1/tenants", s.AdminKey, "{\"name\":\"" + Canary);

        // Batches with a bad item carrying a canary, and one too many items.
        await s.BatchAsync(tenant.Key, [new { value = Canary }, new { value = BadCard, format = "pan" }]);
        await s.BatchAsync(tenant.Key, [new { value = Card, format = "pan" }, new { value = Canary, format = "bogus" }]);
        await s.BatchAsync(tenant.Key, [new { value = Canary }, new { value = padding + Canary }]);
        await s.BatchAsync(tenant.Key, [new { value = Canary }, new { value = Ssn + "1", format = "ssn-last4" }]);
        await s.BatchAsync(tenant.Key, Enumerable.Range(0, 1001).Select(_ => (object)new { value = Canary }));
        await s.SearchAsync(tenant.Key, padding + Canary);

        // Wrong keys, wrong scopes, another tenant.
        var first = Tokens.Keys.First();
        foreach (var key in new[] { null, "garbage", revoked, s.AdminKey, revealOnly })
        {
            await s.CreateAsync(key!, new { value = Canary });
            await s.SearchAsync(key!, Canary);
            await s.BatchAsync(key!, [new { value = Card, format = "pan" }]);
        }

        foreach (var token in Tokens.Keys)
        {
            await s.RevealAsync(writeOnly, token);
            await s.RevealAsync(other.Key, token);
            await s.GetAsync(other.Key, token);
            await s.DeleteAsync(other.Key, token);
        }

        // Rotation and re-encryption of the canaries.
        await s.RotateAsync(tenant.Id);
        await s.Host.ReencryptNowAsync(CancellationToken.None);
        await s.RevealAsync(tenant.Key, first);

        // The .NET client's exceptions.
        using (var http = s.CreateHttpClient())
        using (var otherHttp = s.CreateHttpClient())
        using (var revealHttp = s.CreateHttpClient())
        {
            var client = new CloisterClient(http, tenant.Key);
            var otherClient = new CloisterClient(otherHttp, other.Key);
            var revealClient = new CloisterClient(revealHttp, revealOnly);
            await CaptureAsync(() => client.CreateTokenAsync(BadCard, new TokenizeOptions("pan")));
            await CaptureAsync(() => client.CreateTokenAsync(Canary, new TokenizeOptions("bogus")));
            await CaptureAsync(() => client.CreateTokenAsync(Canary, new TokenizeOptions("ssn-last4")));
            await CaptureAsync(() => client.CreateTokenAsync(Canary + padding));
            await CaptureAsync(() => client.CreateTokensAsync([(Canary, null), (BadCard, new TokenizeOptions("pan"))]));
            await CaptureAsync(() => otherClient.RevealAsync(first));
            await CaptureAsync(() => revealClient.SearchAsync(Canary));
        }

        // The CLI's one-line errors.
        foreach (var args in new[]
        {
            new[] { "tokens", "create", BadCard, "--format", "pan" },
            ["tokens", "create", Canary, "--format", "ssn-last4"],
            ["tokens", "create", Canary, "--format", "fpe", "--alphabet", "hex"],
            ["tokens", "reveal", first, "--key", other.Key],
        })
        {
            var result = await CloisterProcess.RunAsync([.. args, "--data-dir", s.DataDirectory]);
            ErrorTexts.Add(result.ToString());
        }

        var stdinResult = await CloisterProcess.RunAsync(["tokens", "create", "-", "--format", "pan", "--data-dir", s.DataDirectory], stdin: BadCard + "\n");
        ErrorTexts.Add(stdinResult.ToString());

        // The expired canary answers like an unknown token.
        var wait = expiresAt - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        await s.GetAsync(tenant.Key, expiring);
        await s.RevealAsync(tenant.Key, expiring);

        // Deleting, then touching the deleted token.
        await s.DeleteAsync(tenant.Key, first);
        await s.RevealAsync(tenant.Key, first);
        Tokens.Remove(first);
    }

    private async Task CaptureAsync(Func<Task> call)
    {
        try
        {
            await call();
            ErrorTexts.Add("(the call unexpectedly succeeded)");
        }
        catch (CloisterApiException e)
        {
            ErrorTexts.Add($"{e} | {e.Problem}");
        }
    }
}

public sealed class PlaintextLeakTests(LeakFixture fixture) : IClassFixture<LeakFixture>
{
    [Fact]
    public async Task Reveal_OfTheCanaryTokens_ReturnsTheCanaries()
    {
        // Proves the searches below look for values the server really holds.
        Assert.NotEmpty(fixture.Tokens);
        foreach (var (token, value) in fixture.Tokens)
        {
            Assert.Equal(value, await fixture.Server.RevealValueAsync(fixture.TenantKey, token));
        }
    }

    [Fact]
    public void Responses_OtherThanASuccessfulReveal_NeverContainACanary()
    {
        var exchanges = fixture.Server.Exchanges.Where(e => !(e.Path.EndsWith("/reveal", StringComparison.Ordinal) && e.StatusCode == 200)).ToList();
        Assert.True(exchanges.Count > 100, $"only {exchanges.Count} exchanges were recorded");
        foreach (var exchange in exchanges)
        {
            foreach (var canary in fixture.Canaries)
            {
                if (exchange.Everything.Contains(canary, StringComparison.Ordinal))
                {
                    Assert.Fail($"{exchange.Method} {exchange.Path} answered {exchange.StatusCode} containing a canary: {exchange.Everything}");
                }

                ProblemAssert.DoesNotContain(exchange, canary);
            }
        }
    }

    [Fact]
    public void Responses_CoverEveryErrorPath()
    {
        var codes = fixture.Server.Exchanges
            .Where(e => e.MediaType == "application/problem+json")
            .Select(e => e.Json.TryGetProperty("code", out var code) ? code.GetString() : e.Type)
            .ToHashSet();
        foreach (var code in new[]
        {
            "malformed-json", "invalid-request", "value-too-large", "batch-too-large", "unknown-format", "unknown-alphabet",
            "invalid-value", "invalid-card-number", "domain-too-small", "unauthorized", "missing-scope", "token-not-found", "route-not-found",
        })
        {
            Assert.Contains(code, codes);
        }
    }

    [Fact]
    public void Logs_NeverContainACanary()
    {
        var entries = fixture.Server.LogEntries;
        // The capture sees the server's own categories, not only the framework's.
        Assert.Contains(entries, e => e.Category.StartsWith("Cloister", StringComparison.Ordinal));
        foreach (var entry in entries)
        {
            foreach (var canary in fixture.Canaries)
            {
                if (entry.Text.Contains(canary, StringComparison.Ordinal) || entry.Category.Contains(canary, StringComparison.Ordinal))
                {
                    Assert.Fail($"log line [{entry.Level} {entry.Category} {entry.EventId}] contains a canary: {entry.Text}");
                }
            }
        }
    }

    [Fact]
    public void ClientExceptionsAndCliErrors_NeverContainACanary()
    {
        Assert.Equal(12, fixture.ErrorTexts.Count);
        foreach (var text in fixture.ErrorTexts)
        {
            Assert.DoesNotContain("(the call unexpectedly succeeded)", text, StringComparison.Ordinal);
            foreach (var canary in fixture.Canaries)
            {
                if (text.Contains(canary, StringComparison.Ordinal))
                {
                    Assert.Fail($"an error text contains a canary: {text}");
                }
            }
        }
    }

    [Fact]
    public async Task DataDirectoryFiles_NeverContainACanary()
    {
        var files = await DataAtRest.ReadFilesAsync(fixture.Server.DataDirectory);
        Assert.Contains("vault.db", files.Keys);
        foreach (var (file, content) in files)
        {
            foreach (var canary in fixture.Canaries)
            {
                if (DataAtRest.FormsIn(content, canary).FirstOrDefault() is { } form)
                {
                    Assert.Fail($"{file} contains a canary ({form}).");
                }
            }
        }
    }
}
