using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cloister.IntegrationTests.Support;

/// <summary>One HTTP exchange with the server, kept whole so tests can search it.</summary>
public sealed record ApiResponse(string Method, string Path, HttpStatusCode Status, string? MediaType, string Headers, string Body)
{
    public int StatusCode => (int)Status;

    public bool IsSuccess => StatusCode is >= 200 and < 300;

    /// <summary>The body parsed as JSON (fails the test with the body when it is not JSON).</summary>
    public JsonElement Json
    {
        get
        {
            try
            {
                using var document = JsonDocument.Parse(Body);
                return document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new Xunit.Sdk.XunitException($"{Method} {Path} answered {StatusCode} with a body that is not JSON ({e.Message}): {Body}");
            }
        }
    }

    public string? Type => Json.TryGetProperty("type", out var type) ? type.GetString() : null;

    /// <summary>A string member of the JSON body.</summary>
    public string Text(string name) => Json.GetProperty(name).GetString()!;

    /// <summary>The body without the per-request <c>traceId</c>, for comparing two problem answers.</summary>
    public string BodyWithoutTraceId()
    {
        var node = JsonNode.Parse(Body)!.AsObject();
        node.Remove("traceId");
        return node.ToJsonString();
    }

    /// <summary>Everything the server sent back, for secret searches.</summary>
    public string Everything => Headers + "\n" + Body;

    /// <summary>Fails with the whole exchange unless the status is <paramref name="expected"/>.</summary>
    public ApiResponse Expect(int expected)
    {
        if (StatusCode != expected)
        {
            Assert.Fail($"{Method} {Path}: expected {expected}, got {StatusCode} {MediaType}: {Body}");
        }

        return this;
    }
}
