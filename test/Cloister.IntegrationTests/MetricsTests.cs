using System.Globalization;
using System.Security.Cryptography;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// A canary run on a real router (tokenize, reveal and search canary values, invoke a function with one, appraise the
/// worker's attestation), then a scrape of <c>/metrics</c>.
/// </summary>
public sealed class MetricsFixture : IAsyncLifetime
{
    public string Canary { get; } = "CANARY-metrics-" + Guid.NewGuid().ToString("N");

    public string Card { get; } = Values.Card(16, "49");

    public TestServer Server { get; private set; } = null!;

    public TenantHandle Tenant { get; private set; } = null!;

    /// <summary>Every token, function name, invocation id and nonce the run made: none may appear in a scrape.</summary>
    public List<string> Identifiers { get; } = [];

    /// <summary>The admin key's scrape after the run.</summary>
    public string Scrape { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Server = await TestServer.StartAsync();
        var s = Server;
        Tenant = await s.CreateTenantAsync();
        var other = await s.CreateTenantAsync();
        Identifiers.AddRange([Tenant.Id, other.Id, Tenant.KeyId!, other.KeyId!]);

        foreach (var body in new object[] { new { value = Canary }, new { value = Card, format = "pan" }, new { value = Card, format = "fpe" } })
        {
            var token = await s.CreateTokenAsync(Tenant.Key, body);
            Identifiers.Add(token);
            await s.RevealValueAsync(Tenant.Key, token);
            (await s.GetAsync(other.Key, token)).Expect(404);
        }

        await s.SearchAsync(Tenant.Key, Canary);

        // A path no route matches, carrying the canary: it is counted without a route, never under its path.
        (await s.SendAsync(HttpMethod.Get, "/v1/nope/" + Canary, Tenant.Key)).Expect(404);
        (await s.CreateAsync(Tenant.Key, new { value = Canary, format = "pan" })).Expect(400);

        // A function that echoes the canary (twice: the second run finds the sandbox warm) and one that fails quoting it.
        var echo = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        var fail = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        Identifiers.AddRange([echo, fail]);
        (await s.SendAsync(HttpMethod.Put, "/v1/functions/" + echo, Tenant.Key, FunctionBundles.Python("def handle(event, ctx):\n    return {'echo': event['secret']}\n"))).Expect(201);
        (await s.SendAsync(HttpMethod.Put, "/v1/functions/" + fail, Tenant.Key, FunctionBundles.Python("def handle(event, ctx):\n    raise ValueError('no ' + event['secret'])\n"))).Expect(201);
        var args = TestServer.Json(new { args = new { secret = Canary } });
        for (var i = 0; i < 2; i++)
        {
            var ok = (await s.SendAsync(HttpMethod.Post, $"/v1/functions/{echo}/invoke", Tenant.Key, args)).Expect(200);
            Identifiers.Add(ok.Text("invocationId"));
        }

        (await s.SendAsync(HttpMethod.Post, $"/v1/functions/{fail}/invoke", Tenant.Key, args)).Expect(422);

        // The worker's evidence, fetched and appraised by the router's verifier.
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        Identifiers.Add(nonce);
        var attestation = (await s.SendAsync(HttpMethod.Get, "/v1/attestation?nonce=" + nonce, Tenant.Key)).Expect(200).Json;
        var verify = TestServer.Json(new
        {
            type = attestation.GetProperty("tee").GetString(),
            evidence = attestation.GetProperty("evidence").GetString(),
            certificates = attestation.GetProperty("certificates").EnumerateArray().Select(c => c.GetString()).ToArray(),
        });
        (await s.SendAsync(HttpMethod.Post, "/v1/attestation/verify", Tenant.Key, verify)).Expect(200);

        Scrape = (await s.SendAsync(HttpMethod.Get, "/metrics", s.AdminKey)).Expect(200).Body;
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>What <c>/metrics</c> reports after a canary run, and what it must never report.</summary>
public sealed class MetricsTests(MetricsFixture fixture) : IClassFixture<MetricsFixture>
{
    [Fact]
    public void Scrape_ReportsRequestsPerRouteTemplate()
    {
        Assert.True(Value("http_server_request_duration_seconds_count", "http_route=\"/v1/tokens/{token}/reveal\"", "http_response_status_code=\"200\"") >= 3);
        Assert.True(Value("http_server_request_duration_seconds_count", "http_route=\"/v1/tokens/{token}\"", "http_response_status_code=\"404\"") >= 3);
        Assert.True(Value("http_server_request_duration_seconds_count", "http_route=\"/v1/functions/{name}/invoke\"", "http_response_status_code=\"422\"") >= 1);
        Assert.True(Value("http_server_request_duration_seconds_sum", "http_route=\"/v1/tokens/\"", "http_response_status_code=\"201\"") > 0);
    }

    [Fact]
    public void Scrape_ReportsEnclaveFramesPerLane()
    {
        Assert.True(Value("cloister_enclave_frame_duration_seconds_count", "lane=\"request\"", "outcome=\"ok\"") >= 7);
        Assert.True(Value("cloister_enclave_frame_duration_seconds_count", "lane=\"invocation\"", "outcome=\"ok\"") >= 3);
        Assert.True(Value("cloister_enclave_frame_duration_seconds_count", "lane=\"control\"", "outcome=\"ok\"") >= 1);

        // Nothing is in flight between requests (the scrape's own ping was answered before it was collected).
        Assert.Equal(0, Value("cloister_enclave_frames_in_flight", "lane=\"request\""));
        Assert.Equal(0, Value("cloister_enclave_frames_in_flight", "lane=\"invocation\""));
    }

    [Fact]
    public void Scrape_ReportsInvocationOutcomesAndAttestationVerdicts()
    {
        Assert.Equal(2, Value("cloister_invocations_total", "outcome=\"succeeded\"", "error=\"none\""));
        Assert.Equal(1, Value("cloister_invocations_total", "outcome=\"failed\"", "error=\"handler-error\""));
        Assert.Equal(3, Sum("cloister_invocation_duration_seconds_count"));
        Assert.Equal(1, Sum("cloister_attestation_verdicts_total"));
        Assert.Contains(Series("cloister_attestation_verdicts_total"), s => s.Labels.Contains("tee=\"simulated\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Scrape_ReportsTheWorkersPoolAndKeyReleases_AsOfTheScrape()
    {
        Assert.Equal(1, Value("cloister_worker_up"));

        // Two functions ran cold once each; the echo's second run found its sandbox warm, and both went back to the pool.
        Assert.Equal(2, Value("cloister_worker_sandbox_cold_starts_total"));
        Assert.Equal(0, Value("cloister_worker_sandboxes", "state=\"leased\""));
        Assert.True(Value("cloister_worker_sandboxes", "state=\"idle\"") >= 1);

        // The broker released keys to the worker (those it did not keep from creating the tenant), and refused none.
        Assert.True(Value("cloister_worker_key_releases_total", "outcome=\"granted\"") >= 1);
        Assert.Equal(0, Value("cloister_worker_key_releases_total", "outcome=\"refused\""));
        Assert.Equal(0, Value("cloister_worker_key_releases_total", "outcome=\"failed\""));
    }

    [Fact]
    public void Scrape_NeverContainsAValueTokenKeyOrName()
    {
        var s = fixture.Server;
        string[] secrets = [fixture.Canary, fixture.Card, s.AdminKey, fixture.Tenant.Key, s.DefaultTenant.Key, .. fixture.Identifiers];
        foreach (var secret in secrets)
        {
            Assert.False(fixture.Scrape.Contains(secret, StringComparison.Ordinal), $"the scrape contains '{secret[..Math.Min(12, secret.Length)]}…'");
        }

        // Paths appear only as route templates.
        Assert.DoesNotContain("/v1/tokens/tok_", fixture.Scrape, StringComparison.Ordinal);
        Assert.DoesNotContain("/v1/functions/metrics-", fixture.Scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_WithoutAnAdminKey_IsRefused()
    {
        var s = fixture.Server;
        ProblemAssert.Is(await s.SendAsync(HttpMethod.Get, "/metrics", key: null), 401, "unauthorized");
        ProblemAssert.Is(await s.SendAsync(HttpMethod.Get, "/metrics", "garbage"), 401, "unauthorized");
        ProblemAssert.Is(await s.SendAsync(HttpMethod.Get, "/metrics", fixture.Tenant.Key), 403, "missing-scope");
    }

    private IReadOnlyList<(string Labels, double Value)> Series(string name)
        => [.. fixture.Scrape.Split('\n')
            .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(line =>
            {
                var labels = line.Length > name.Length && line[name.Length] == '{' ? line[(name.Length + 1)..line.LastIndexOf('}')] : "";
                var value = line[(line.LastIndexOf(' ') + 1)..];
                return (labels, double.Parse(value, CultureInfo.InvariantCulture));
            })];

    /// <summary>The value of the one series of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    private double Value(string name, params string[] labels)
    {
        var matching = Series(name).Where(s => labels.All(l => s.Labels.Contains(l, StringComparison.Ordinal))).ToList();
        Assert.True(matching.Count == 1, $"expected one series {name}{{{string.Join(',', labels)}}}, found {matching.Count} in:\n{fixture.Scrape}");
        return matching[0].Value;
    }

    private double Sum(string name) => Series(name).Sum(s => s.Value);
}
