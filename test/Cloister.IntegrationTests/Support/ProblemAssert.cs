using System.Text.Json;

namespace Cloister.IntegrationTests.Support;

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
