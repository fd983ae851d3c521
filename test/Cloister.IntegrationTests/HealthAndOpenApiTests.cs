using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>Health probes and the served OpenAPI document.</summary>
public sealed class HealthAndOpenApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    [Theory]
    [InlineData("/healthz", "ok")]
    [InlineData("/readyz", "ready")]
    public async Task Probe_WithoutAKey_Returns200(string path, string body)
        => Assert.Equal(body, (await _server.SendAsync(HttpMethod.Get, path, null)).Expect(200).Body.Trim());

    [Fact]
    public async Task OpenApi_IsServed_AndListsTheTokenAndTenantRoutes()
    {
        var document = (await _server.SendAsync(HttpMethod.Get, "/openapi/v1.json", null)).Expect(200);
        Assert.Equal("application/json", document.MediaType);
        var paths = document.Json.GetProperty("paths");
        var names = paths.EnumerateObject().Select(p => p.Name.TrimEnd('/')).ToHashSet();
        foreach (var path in new[] { "/v1/tokens", "/v1/tokens/batch", "/v1/tokens/search", "/v1/tokens/{token}", "/v1/tokens/{token}/reveal", "/v1/tenants", "/v1/tenants/{id}/apikeys", "/v1/tenants/{id}/apikeys/{keyId}", "/v1/tenants/{id}/datakeys/rotate" })
        {
            Assert.Contains(path, names);
        }

        var create = paths.EnumerateObject().First(p => p.Name.TrimEnd('/') == "/v1/tokens").Value;
        Assert.True(create.TryGetProperty("post", out _), "POST /v1/tokens is not documented");
    }

    [Fact]
    public async Task OpenApi_DocumentsAnInvocationResult_AsAnyJsonValue()
    {
        // The router writes a result as the JSON text it has (RawJsonConverter on a string), not as a parsed JsonElement.
        var document = (await _server.SendAsync(HttpMethod.Get, "/openapi/v1.json", null)).Expect(200);
        var schemas = document.Json.GetProperty("components").GetProperty("schemas");
        foreach (var dto in new[] { "InvocationSucceeded", "InvocationInfo" })
        {
            var result = schemas.GetProperty(dto).GetProperty("properties").GetProperty("result");
            Assert.False(result.TryGetProperty("type", out _), $"{dto}.result is documented as {result}, not as any JSON value.");
        }
    }
}
