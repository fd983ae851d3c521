using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// Every JSON body the API takes binds strictly: a member named twice, a member in another case or a member the route
/// does not know is refused before anything acts on the body; and a body that stops arriving answers 408, not 500.
/// </summary>
public sealed class JsonBodyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Measurement = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

    private readonly TestServer _server = fixture.Server;

    /// <summary>Each body-taking route: method, path ({tenant} is the default tenant), admin key or tenant key, a valid body's opening and one of its members.</summary>
    public static TheoryData<string, string, bool, string, string, string> Routes => new()
    {
        { "POST", "/v1/tokens", false, """{"format":"random" """, "value", "\"x\"" },
        { "POST", "/v1/tokens/batch", false, """{"items":[{"value":"x"}]""", "items", "[]" },
        { "POST", "/v1/tokens/search", false, """{"value":"x" """, "value", "\"y\"" },
        { "POST", "/v1/sealed/tokens", false, """{"items":[{"sealedValue":"AAAA"}]""", "items", "[]" },
        { "POST", "/v1/sealed/reveal", false, """{"tokens":["tok_x"]""", "sealedRequest", "\"AAAA\"" },
        { "POST", "/v1/sealed/functions/no-such-function/invoke", false, """{"sealedInput":"AAAA" """, "measurement", $"\"{Measurement}\"" },
        { "PUT", "/v1/functions/strict-json", false, """{"bundle":"AAAA" """, "manifest", """{"runtime":"python3","entrypoint":"main.py"}""" },
        { "POST", "/v1/functions/no-such-function/invoke", false, """{"version":1""", "args", "{}" },
        { "POST", "/v1/attestation/verify", false, """{"evidence":"AAAA" """, "type", "\"simulated\"" },
        { "POST", "/v1/tenants", true, """{"name":"a" """, "name", "\"b\"" },
        { "POST", "/v1/tenants/{tenant}/apikeys", true, """{"scopes":["tokens:write"]""", "scopes", """["tokens:reveal"]""" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task MemberNamedTwice_IsDuplicateField(string method, string path, bool admin, string opening, string member, string value)
    {
        var problem = ProblemAssert.Is(await SendAsync(method, path, admin, $"{opening.TrimEnd()},\"{member}\":{value},\"{member}\":{value}}}"), 400, "duplicate-field");
        Assert.Contains($"$.{member}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task MemberInAnotherCase_IsUnknownField_NamingTheRightSpelling(string method, string path, bool admin, string opening, string member, string value)
    {
        var shouted = char.ToUpperInvariant(member[0]) + member[1..];
        var problem = ProblemAssert.Is(await SendAsync(method, path, admin, $"{opening.TrimEnd()},\"{shouted}\":{value}}}"), 400, "unknown-field");
        Assert.Contains($"'{member}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task MemberTheRouteDoesNotKnow_IsUnknownField(string method, string path, bool admin, string opening, string member, string value)
    {
        _ = member;
        ProblemAssert.Is(await SendAsync(method, path, admin, $"{opening.TrimEnd()},\"extra\":{value}}}"), 400, "unknown-field");
    }

    [Fact]
    public async Task DuplicateSpelledWithAnEscape_IsStillADuplicate()
        => ProblemAssert.Is(await SendAsync("POST", "/v1/tokens", false, """{"value":"a","val\u0075e":"b"}"""), 400, "duplicate-field");

    [Theory]
    [InlineData("POST", "/v1/tokens", """{"value":"x","metadata":{"a":1,"a":2}}""", "$.metadata.a")]
    [InlineData("POST", "/v1/tokens/batch", """{"items":[{"value":"x"},{"value":"y","value":"z"}]}""", "$.items[1].value")]
    [InlineData("POST", "/v1/functions/no-such-function/invoke", """{"args":{"card":{"$token":"tok_a","$token":"tok_b"}}}""", "$.args.card.$token")]
    [InlineData("PUT", "/v1/functions/strict-json", """{"bundle":"AAAA","manifest":{"runtime":"python3","runtime":"node","entrypoint":"main.py"}}""", "$.manifest.runtime")]
    [InlineData("POST", "/v1/attestation/verify", """{"type":"simulated","evidence":"AAAA","policy":{"allowDebug":false,"allowDebug":true}}""", "$.policy.allowDebug")]
    public async Task DuplicateInsideANestedObject_IsRefusedWithItsPath(string method, string path, string body, string where)
    {
        var problem = ProblemAssert.Is(await SendAsync(method, path, false, body), 400, "duplicate-field");
        Assert.Contains(where, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefusedBody_StoresNothing_AndNeverEchoesAValue()
    {
        var tenant = await _server.CreateTenantAsync();
        var first = Values.Unique("first");
        var second = Values.Unique("second");

        var response = await _server.SendAsync(HttpMethod.Post, "/v1/tokens", tenant.Key, $$"""{"value":"{{first}}","value":"{{second}}"}""");

        ProblemAssert.Is(response, 400, "duplicate-field");
        ProblemAssert.DoesNotContain(response, first);
        ProblemAssert.DoesNotContain(response, second);
        Assert.Empty(await _server.SearchTokensAsync(tenant.Key, first));
        Assert.Empty(await _server.SearchTokensAsync(tenant.Key, second));
    }

    [Fact]
    public async Task UnknownMemberThatLooksLikeAValue_IsNotEchoed()
    {
        var card = Values.Card();
        var response = await SendAsync("POST", "/v1/tokens", false, $$"""{"value":"x","{{card}}":1}""");

        ProblemAssert.Is(response, 400, "unknown-field");
        ProblemAssert.DoesNotContain(response, card);
    }

    [Fact]
    public async Task BodyThatStopsArriving_Is408BodyTimeout()
    {
        // Kestrel's minimum body data rate (240 bytes/s after a 5 s grace) trips; the answer is a problem, not 500.
        var response = await RawHttp.SendStalledAsync(_server.BaseAddress, "POST", "/v1/tokens", "Bearer " + _server.DefaultTenant.Key, 4096, """{"value":"sl""", TimeSpan.FromSeconds(60));

        ProblemAssert.Is(response, 408, "body-timeout");
    }

    private Task<ApiResponse> SendAsync(string method, string path, bool admin, string body)
        => _server.SendAsync(new HttpMethod(method), path.Replace("{tenant}", _server.DefaultTenant.Id, StringComparison.Ordinal), admin ? _server.AdminKey : _server.DefaultTenant.Key, body);
}
