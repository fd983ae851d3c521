using Cloister.IntegrationTests.Support;
using static Cloister.IntegrationTests.Support.Values;

namespace Cloister.IntegrationTests;

/// <summary>Every error path answers RFC 9457 problem details with a stable type and the right status.</summary>
public sealed class ErrorPathTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    private string Key => _server.DefaultTenant.Key;

    public static TheoryData<string, string> BadCreateBodies => new()
    {
        { "{not json", "malformed-json" },
        { J("{'value': 'x'"), "malformed-json" },
        { J("{'value': 'x',}"), "malformed-json" },
        { J("{'value': 'x\\q'}"), "malformed-json" },
        { J("{}"), "invalid-request" },
        { J("{'value': null}"), "invalid-request" },
        { J("{'value': ''}"), "invalid-request" },
        { J("{'value': 'x', 'format': 'bogus'}"), "unknown-format" },
        { J("{'value': '123456', 'format': 'fpe', 'alphabet': 'hex'}"), "unknown-alphabet" },
        { J("{'value': 'x', 'alphabet': 'digits'}"), "invalid-request" },
        { J("{'value': '12345', 'format': 'ssn-last4'}"), "invalid-value" },
        { J("{'value': '12-345-6789', 'format': 'ssn-last4'}"), "invalid-value" },
        { J("{'value': '" + new string('1', 65) + "', 'format': 'numeric'}"), "invalid-value" },
        { J("{'value': '4111111111111112', 'format': 'pan'}"), "invalid-card-number" },
        { J("{'value': '4111111111111112', 'format': 'pan-last4'}"), "invalid-card-number" },
        { J("{'value': '411111111111', 'format': 'pan'}"), "invalid-card-number" },
        { J("{'value': '41111111111111111111', 'format': 'pan'}"), "invalid-card-number" },
        { J("{'value': '4111x11111111111', 'format': 'pan'}"), "invalid-card-number" },
        { J("{'value': '12345', 'format': 'fpe'}"), "domain-too-small" },
        { J("{'value': 'abc', 'format': 'fpe', 'alphabet': 'lower-alnum'}"), "domain-too-small" },
        { J("{'value': '1-2 3', 'format': 'fpe', 'alphabet': 'alnum'}"), "domain-too-small" },
        { J("{'value': 'x', 'ttlSeconds': 0}"), "invalid-request" },
        { J("{'value': 'x', 'ttlSeconds': -5}"), "invalid-request" },
        { J("{'value': 'x', 'classifier': 'Not A Classifier!'}"), "invalid-request" },
        { J("{'value': 'x', 'metadata': [1, 2]}"), "invalid-request" },
        { J("{'value': 'x', 'metadata': {'big': '" + new string('m', 4200) + "'}}"), "invalid-request" },
        { J("{'value': 'x', 'ttlSeconds': 999999999999}"), "invalid-request" },
    };

    [Theory]
    [MemberData(nameof(BadCreateBodies))]
    public async Task CreateToken_BadBody_Returns400ProblemWithStableType(string body, string code)
    {
        var response = await _server.SendAsync(HttpMethod.Post, "/v1/tokens", Key, body);
        ProblemAssert.Is(response, 400, code);
    }

    [Theory]
    [InlineData("{'value': 5}")]
    [InlineData("{'value': ['x']}")]
    [InlineData("{'value': 'x', 'deterministic': 'yes'}")]
    [InlineData("{'value': 'x', 'ttlSeconds': 'soon'}")]
    [InlineData("[1, 2]")]
    [InlineData("\"just a string\"")]
    public async Task CreateToken_WrongJsonTypes_IsMalformedJson(string body)
        => ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/tokens", Key, J(body)), 400, "malformed-json");

    [Fact]
    public async Task CreateToken_EmptyBody_IsInvalidRequest()
        => ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/tokens", Key, ""), 400, "invalid-request");

    [Fact]
    public async Task CreateToken_NoBodyAtAll_IsA400Problem()
    {
        var response = await _server.SendAsync(HttpMethod.Post, "/v1/tokens", Key);
        Assert.Equal(400, response.StatusCode);
        Assert.Equal("application/problem+json", response.MediaType);
        Assert.StartsWith(ProblemAssert.TypePrefix, response.Type, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateToken_ValueOf64KiB_IsAccepted_AndOneByteMore_IsValueTooLarge()
    {
        var limit = 64 * 1024;
        var atLimit = await _server.CreateOkAsync(Key, new { value = new string('a', limit) });
        Assert.Equal(new string('a', limit), await _server.RevealValueAsync(Key, atLimit.Text("token")));

        ProblemAssert.Is(await _server.CreateAsync(Key, new { value = new string('a', limit + 1) }), 400, "value-too-large");
    }

    [Fact]
    public async Task CreateToken_ValueLimit_CountsUtf8Bytes()
    {
        // 'é' is two bytes in UTF-8: 32,768 of them are exactly 64 KiB, one more is over.
        (await _server.CreateAsync(Key, new { value = new string('é', 32 * 1024) })).Expect(201);
        ProblemAssert.Is(await _server.CreateAsync(Key, new { value = new string('é', (32 * 1024) + 1) }), 400, "value-too-large");
    }

    [Fact]
    public async Task Batch_OversizeItem_IsValueTooLarge()
        => ProblemAssert.Is(await _server.BatchAsync(Key, [new { value = "fine" }, new { value = new string('a', (64 * 1024) + 1) }]), 400, "value-too-large");

    [Theory]
    [InlineData("{not json", "malformed-json")]
    [InlineData("{}", "invalid-request")]
    [InlineData("{'items': null}", "invalid-request")]
    [InlineData("{'items': []}", "invalid-request")]
    [InlineData("{'items': [{'value': 'x'}, {}]}", "invalid-request")]
    [InlineData("{'items': [{'value': 'x', 'format': 'bogus'}]}", "unknown-format")]
    [InlineData("{'items': [{'value': 'x'}, {'value': '4111111111111112', 'format': 'pan'}]}", "invalid-card-number")]
    [InlineData("{'items': [{'value': '123456', 'format': 'fpe', 'alphabet': 'hex'}]}", "unknown-alphabet")]
    public async Task Batch_BadBody_Returns400ProblemWithStableType(string body, string code)
        => ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/tokens/batch", Key, J(body)), 400, code);

    [Fact]
    public async Task Batch_Of1001Items_IsBatchTooLarge()
        => ProblemAssert.Is(await _server.BatchAsync(Key, Enumerable.Range(0, 1001).Select(i => (object)new { value = "v" + i })), 400, "batch-too-large");

    [Theory]
    [InlineData("{not json", "malformed-json")]
    [InlineData("{}", "invalid-request")]
    [InlineData("{'value': ''}", "invalid-request")]
    public async Task Search_BadBody_Returns400ProblemWithStableType(string body, string code)
        => ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/tokens/search", Key, J(body)), 400, code);

    [Fact]
    public async Task Search_OversizeValue_IsValueTooLarge()
        => ProblemAssert.Is(await _server.SearchAsync(Key, new string('a', (64 * 1024) + 1)), 400, "value-too-large");

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer garbage")]
    [InlineData("Bearer ck_111111111111_11111111111111111111111111111111111111111111")]
    public async Task AnyRoute_MissingOrInvalidKey_Returns401Unauthorized(string? authorization)
    {
        ProblemAssert.Is(await _server.SendWithAuthorizationAsync(HttpMethod.Post, "/v1/tokens", authorization, J("{'value': 'x'}")), 401, "unauthorized");
        ProblemAssert.Is(await _server.SendWithAuthorizationAsync(HttpMethod.Post, "/v1/tenants", authorization, J("{'name': 'x'}")), 401, "unauthorized");
    }

    [Fact]
    public async Task AnyRoute_TamperedKeySecret_Returns401Unauthorized()
    {
        var key = _server.DefaultTenant.Key;
        var tampered = key[..^1] + (key[^1] == 'a' ? 'b' : 'a');
        ProblemAssert.Is(await _server.CreateAsync(tampered, new { value = "x" }), 401, "unauthorized");
    }

    [Fact]
    public async Task AnyRoute_RevokedKey_Returns401Unauthorized()
    {
        var tenant = await _server.CreateTenantAsync();
        (await _server.CreateAsync(tenant.Key, new { value = "x" })).Expect(201);
        await _server.RevokeApiKeyAsync(tenant.Id, tenant.KeyId!);
        ProblemAssert.Is(await _server.CreateAsync(tenant.Key, new { value = "x" }), 401, "unauthorized");
    }

    [Fact]
    public async Task Reveal_WithoutRevealScope_Returns403NamingTheScope()
    {
        var token = await _server.CreateTokenAsync(Key, new { value = "x" });
        var (_, writeOnly) = await _server.CreateApiKeyAsync(_server.DefaultTenant.Id, "tokens:write");
        var problem = ProblemAssert.Is(await _server.RevealAsync(writeOnly, token), 403, "missing-scope");
        Assert.Equal("tokens:reveal", problem.GetProperty("scope").GetString());
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    [InlineData("REVEAL")]
    public async Task UnknownToken_Returns404TokenNotFound(string operation)
    {
        foreach (var token in new[] { "tok_" + new string('1', 22), "4111111111111111", "nope", "tok_%2F..%2F" })
        {
            var response = operation switch
            {
                "GET" => await _server.GetAsync(Key, token),
                "DELETE" => await _server.DeleteAsync(Key, token),
                _ => await _server.RevealAsync(Key, token),
            };
            ProblemAssert.Is(response, 404, "token-not-found");
        }
    }

    [Fact]
    public async Task CreateApiKey_UnknownTenant_Returns404TenantNotFound()
        => ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/tenants/ten_doesnotexist/apikeys", _server.AdminKey, J("{'scopes': ['tokens:write']}")), 404, "tenant-not-found");

    [Fact]
    public async Task RotateDataKey_UnknownTenant_Returns404TenantNotFound()
        => ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/tenants/ten_doesnotexist/datakeys/rotate", _server.AdminKey), 404, "tenant-not-found");

    [Fact]
    public async Task RevokeApiKey_UnknownKey_Returns404ApiKeyNotFound()
        => ProblemAssert.Is(await _server.SendAsync(HttpMethod.Delete, $"/v1/tenants/{_server.DefaultTenant.Id}/apikeys/nosuchkey", _server.AdminKey), 404, "apikey-not-found");

    [Fact]
    public async Task RevokeApiKey_AlreadyRevoked_Returns404ApiKeyNotFound()
    {
        var (keyId, _) = await _server.CreateApiKeyAsync(_server.DefaultTenant.Id, "tokens:write");
        await _server.RevokeApiKeyAsync(_server.DefaultTenant.Id, keyId);
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Delete, $"/v1/tenants/{_server.DefaultTenant.Id}/apikeys/{keyId}", _server.AdminKey), 404, "apikey-not-found");
    }

    [Theory]
    [InlineData("{'scopes': ['tokens:everything']}")]
    [InlineData("{'scopes': ['tokens:write', 'admin']}")]
    [InlineData("{'scopes': ['TOKENS:WRITE']}")]
    public async Task CreateApiKey_UnknownScope_Returns400UnknownScope(string body)
        => ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, $"/v1/tenants/{_server.DefaultTenant.Id}/apikeys", _server.AdminKey, J(body)), 400, "unknown-scope");

    [Theory]
    [InlineData("{}", "invalid-request")]
    [InlineData("{'scopes': []}", "invalid-request")]
    [InlineData("{'scopes': 'tokens:write'}", "malformed-json")]
    [InlineData("{oops", "malformed-json")]
    public async Task CreateApiKey_BadBody_Returns400Problem(string body, string code)
        => ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, $"/v1/tenants/{_server.DefaultTenant.Id}/apikeys", _server.AdminKey, J(body)), 400, code);

    [Theory]
    [InlineData("{}", "invalid-request")]
    [InlineData("{'name': '   '}", "invalid-request")]
    [InlineData("{'name': 7}", "malformed-json")]
    [InlineData("{oops", "malformed-json")]
    public async Task CreateTenant_BadBody_Returns400Problem(string body, string code)
        => ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, "/v1/tenants", _server.AdminKey, J(body)), 400, code);

    [Theory]
    [InlineData("GET", "/v1/nope")]
    [InlineData("GET", "/nope")]
    [InlineData("POST", "/v1/tokens/abc/reveal/again")]
    [InlineData("GET", "/v2/tokens")]
    public async Task UnknownRoute_Returns404RouteNotFound(string method, string path)
        => ProblemAssert.Is(await _server.SendAsync(new HttpMethod(method), path, Key), 404, "route-not-found");

    [Theory]
    [InlineData("PUT", "/v1/tokens")]
    [InlineData("GET", "/v1/tenants")]
    [InlineData("PUT", "/v1/tokens/tok_x/reveal")]
    [InlineData("PATCH", "/v1/tenants")]
    public async Task WrongMethod_Returns405MethodNotAllowed(string method, string path)
        => ProblemAssert.Is(await _server.SendAsync(new HttpMethod(method), path, Key, J("{'value': 'x'}")), 405, "method-not-allowed");

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task CreateToken_BodyNotSentAsJson_Returns415UnsupportedMediaType(string mediaType)
    {
        var response = await _server.SendWithAuthorizationAsync(HttpMethod.Post, "/v1/tokens", "Bearer " + Key, J("{'value': 'not json content type'}"), mediaType);
        ProblemAssert.Is(response, 415, "unsupported-media-type");
    }

    [Fact]
    public async Task Search_ValueLimit_CountsUtf8BytesLikeCreate()
    {
        (await _server.SearchAsync(Key, new string('é', 32 * 1024))).Expect(200);
        ProblemAssert.Is(await _server.SearchAsync(Key, new string('é', (32 * 1024) + 1)), 400, "value-too-large");
    }

    [Fact]
    public async Task CreateToken_LoneSurrogate_IsRejectedNotStored()
    {
        var response = await _server.SendAsync(HttpMethod.Post, "/v1/tokens", Key, J("{'value': 'abc\\ud800def'}"));
        Assert.Equal(400, response.StatusCode);
        Assert.Equal("application/problem+json", response.MediaType);
        Assert.Contains(response.Type, new[] { ProblemAssert.TypePrefix + "malformed-json", ProblemAssert.TypePrefix + "invalid-value" });
    }

    [Fact]
    public async Task CreateToken_EmptyFormat_IsEitherRejectedOrTheDefault_NeverAFormatNamedEmpty()
    {
        var response = await _server.CreateAsync(Key, new { value = "x", format = "" });
        if (response.StatusCode == 400)
        {
            ProblemAssert.Is(response, 400, "unknown-format");
            return;
        }

        response.Expect(201);
        Assert.Equal("random", response.Text("format"));
        Assert.Equal("random", (await _server.GetAsync(Key, response.Text("token"))).Expect(200).Text("format"));
    }

    [Theory]
    [InlineData("RANDOM")]
    [InlineData(" random")]
    public async Task CreateToken_FormatThatIsNotExactlyAKnownName_IsUnknownFormat(string format)
    {
        var response = await _server.CreateAsync(Key, new { value = "x", format });
        ProblemAssert.Is(response, 400, "unknown-format");
    }

    [Theory]
    [InlineData(1, "{'value': 'ok'}, {}")]
    [InlineData(2, "{'value': 'ok'}, {'value': 'ok'}, {'value': 'x', 'ttlSeconds': 0}")]
    [InlineData(1, "{'value': 'ok'}, {'value': '4111111111111112', 'format': 'pan'}")]
    [InlineData(0, "{'value': '4111111111111112', 'format': 'pan'}")]
    [InlineData(3, "{'value': 'a'}, {'value': 'b'}, {'value': 'c'}, {'value': 'x', 'format': 'bogus'}")]
    public async Task Batch_InvalidItem_ProblemNamesTheItemIndex(int index, string items)
    {
        var response = await _server.SendAsync(HttpMethod.Post, "/v1/tokens/batch", Key, J("{'items': [" + items + "]}"));
        Assert.Equal(400, response.StatusCode);
        Assert.Equal("application/problem+json", response.MediaType);
        Assert.True(response.Json.TryGetProperty("index", out var named), $"no 'index' member: {response.Body}");
        Assert.Equal(index, named.GetInt32());
    }

    [Fact]
    public async Task Problems_NeverCarryAStackTraceOrExceptionText()
    {
        var responses = new[]
        {
            await _server.SendAsync(HttpMethod.Post, "/v1/tokens", Key, "{not json"),
            await _server.SendAsync(HttpMethod.Post, "/v1/tokens", Key, J("{'value': 5}")),
            await _server.SendAsync(HttpMethod.Post, "/v1/tokens/batch", Key, J("{'items': 5}")),
            await _server.CreateAsync(Key, new { value = "4111111111111112", format = "pan" }),
        };
        foreach (var response in responses)
        {
            Assert.DoesNotContain("Exception", response.Body, StringComparison.Ordinal);
            Assert.DoesNotContain(" at ", response.Body, StringComparison.Ordinal);
            Assert.DoesNotContain(".cs:", response.Body, StringComparison.Ordinal);
        }
    }
}
