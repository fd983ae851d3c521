using System.Diagnostics;
using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// The OpenAPI document a real router serves: what its handlers' typed results and metadata say, checked here for the
/// contract's promises, then by standard tooling (scripts/openapi-check.sh): Redocly's recommended rules report no error,
/// and a TypeScript client generated from the document compiles with no hand-written API types or casts and works against
/// this server (create, read, reveal, delete a token; a typed problem for a missing one).
/// </summary>
public sealed class OpenApiDocumentTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    private async Task<JsonElement> DocumentAsync()
        => (await _server.SendAsync(HttpMethod.Get, "/openapi/v1.json", null)).Expect(200).Json;

    private static IEnumerable<(string Path, string Method, JsonElement Operation)> Operations(JsonElement document)
        => from path in document.GetProperty("paths").EnumerateObject()
           from operation in path.Value.EnumerateObject()
           select (path.Name, operation.Name, operation.Value);

    [Fact]
    public async Task EveryOperation_HasAnIdASummaryAndSecurity_AndNamesItsScope()
    {
        var document = await DocumentAsync();
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
        foreach (var (path, method, operation) in Operations(document))
        {
            var where = $"{method.ToUpperInvariant()} {path}";
            Assert.True(operation.TryGetProperty("operationId", out _), $"{where} has no operationId");
            Assert.True(operation.TryGetProperty("summary", out _), $"{where} has no summary");
            var security = operation.GetProperty("security");
            var isPublic = path is "/healthz" or "/readyz" or "/v1/attestation/jwks";
            Assert.Equal(isPublic ? 0 : 1, security.GetArrayLength());
            Assert.Equal(!isPublic, operation.TryGetProperty("x-required-scopes", out _));
        }
    }

    [Fact]
    public async Task EveryError_IsTheSharedProblemSchema_AsProblemJson()
    {
        var document = await DocumentAsync();
        var errors = 0;
        foreach (var (path, method, operation) in Operations(document))
        {
            foreach (var response in operation.GetProperty("responses").EnumerateObject().Where(r => r.Name[0] is '4' or '5'))
            {
                var schema = response.Value.GetProperty("content").GetProperty("application/problem+json").GetProperty("schema");
                Assert.True(schema.GetProperty("$ref").GetString() == "#/components/schemas/ProblemDetails", $"{method} {path} {response.Name}");
                errors++;
            }
        }

        Assert.True(errors > 100, $"only {errors} error responses are documented");
    }

    [Fact]
    public async Task Statuses_AndHeaders_AreTheOnesSent()
    {
        var paths = (await DocumentAsync()).GetProperty("paths");
        var responses = (string path, string method) => paths.GetProperty(path).GetProperty(method).GetProperty("responses");

        Assert.True(responses("/v1/tokens/{token}", "delete").TryGetProperty("204", out _));
        Assert.False(responses("/v1/tokens/{token}", "delete").TryGetProperty("200", out _));
        Assert.True(responses("/v1/tokens", "post").GetProperty("201").GetProperty("headers").TryGetProperty("Location", out _));
        Assert.True(responses("/v1/tokens/{token}/reveal", "post").GetProperty("200").GetProperty("headers").TryGetProperty("Cache-Control", out _));
        Assert.True(responses("/v1/tokens/search", "post").GetProperty("429").GetProperty("headers").TryGetProperty("Retry-After", out _));
        Assert.True(responses("/v1/functions/{name}/invoke", "post").GetProperty("202").GetProperty("headers").TryGetProperty("Location", out _));
    }

    [Fact]
    public async Task Schemas_HaveOptionalMembers_Enums_Integers_AndObjects()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");
        var create = schemas.GetProperty("CreateTokenRequest");
        Assert.Equal(["value"], create.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        var properties = create.GetProperty("properties");
        Assert.Equal("string", properties.GetProperty("format").GetProperty("type").GetString());
        Assert.Contains("fpe", properties.GetProperty("format").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("integer", properties.GetProperty("ttlSeconds").GetProperty("type").GetString());
        Assert.Equal("object", properties.GetProperty("metadata").GetProperty("type").GetString());
        Assert.Equal(
            ["running", "succeeded", "failed"],
            schemas.GetProperty("InvocationInfo").GetProperty("properties").GetProperty("status").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));

        // No integer anywhere is also a numeric string (the pattern the web defaults document for that).
        Assert.DoesNotContain("(?:0|[1-9]", schemas.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Document_PassesRedocly_AndAGeneratedClientCompilesAndWorks()
    {
        var root = RepositoryRoot.Find();
        var output = Path.Combine(root, ".build", "openapi");
        Directory.CreateDirectory(output);
        var documentPath = Path.Combine(output, "v1.json");
        var document = await _server.SendAsync(HttpMethod.Get, "/openapi/v1.json", null);
        await File.WriteAllTextAsync(documentPath, document.Expect(200).Body);

        var check = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        foreach (var argument in new[] { Path.Combine(root, "scripts", "openapi-check.sh"), documentPath, _server.BaseAddress.ToString().TrimEnd('/'), _server.DefaultTenant.Key })
        {
            check.ArgumentList.Add(argument);
        }

        using var process = Process.Start(check)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"scripts/openapi-check.sh {documentPath} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
    }
}
