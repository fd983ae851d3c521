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

/// <summary>Assertions on RFC 9457 problem answers.</summary>
public static class ProblemAssert
{
    public const string TypePrefix = "urn:cloister:problem:";

    /// <summary>Asserts status, <c>application/problem+json</c>, <c>type</c>, <c>code</c> and <c>status</c>; returns the body.</summary>
    public static JsonElement Is(ApiResponse response, int status, string code)
    {
        if (response.StatusCode != status || response.Type != TypePrefix + code)
        {
            Assert.Fail($"{response.Method} {response.Path}: expected {status} {TypePrefix}{code}, got {response.StatusCode} {response.MediaType}: {response.Body}");
        }

        Assert.Equal("application/problem+json", response.MediaType);
        var json = response.Json;
        Assert.Equal(code, json.GetProperty("code").GetString());
        Assert.Equal(status, json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("title").GetString()));
        return json;
    }

    /// <summary>Every string anywhere in a JSON document (names and values).</summary>
    public static IEnumerable<string> StringsIn(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                yield return element.GetString()!;
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    yield return property.Name;
                    foreach (var s in StringsIn(property.Value))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var s in StringsIn(item))
                    {
                        yield return s;
                    }
                }

                break;
            default:
                break;
        }
    }

    /// <summary>Asserts the answer does not contain <paramref name="value"/>, raw or JSON-decoded.</summary>
    public static void DoesNotContain(ApiResponse response, string value)
    {
        Assert.DoesNotContain(value, response.Everything, StringComparison.Ordinal);
        if (response.MediaType is not null && response.MediaType.EndsWith("json", StringComparison.Ordinal) && response.Body.Length > 0)
        {
            foreach (var s in StringsIn(response.Json))
            {
                Assert.DoesNotContain(value, s, StringComparison.Ordinal);
            }
        }
    }
}
