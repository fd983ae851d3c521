using System.Text;
using System.Text.Json;

namespace Cloister.IntegrationTests.Processes;

/// <summary>A tenant of a running <c>cloister serve</c>: its key, and helpers for the routes these tests drive.</summary>
internal sealed class ServeTenant(HttpClient http, string key)
{
    public string Key { get; } = key;

    /// <summary>The default tenant of serve's first start.</summary>
    public static ServeTenant Default(HttpClient http, string dataDirectory) => new(http, ServeChildren.TenantKey(dataDirectory));

    /// <summary>A new tenant with every tenant scope, made with the admin key of serve's first start.</summary>
    public static async Task<ServeTenant> CreateAsync(HttpClient http, string dataDirectory, string name)
    {
        using var credentials = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dataDirectory, "credentials.json")));
        var admin = credentials.RootElement.GetProperty("adminKey").GetString()!;
        using var tenant = await SendAsync(http, HttpMethod.Post, "/v1/tenants", admin, JsonSerializer.Serialize(new { name }));
        var id = (await Expect(tenant, 201)).GetProperty("id").GetString()!;
        using var key = await SendAsync(http, HttpMethod.Post, $"/v1/tenants/{id}/apikeys", admin, JsonSerializer.Serialize(new { scopes = new[] { "tokens:write", "tokens:reveal", "functions:deploy", "functions:invoke" } }));
        return new ServeTenant(http, (await Expect(key, 201)).GetProperty("key").GetString()!);
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json = null) => SendAsync(http, method, path, Key, json);

    /// <summary>Deploys a function; fails the test unless 201.</summary>
    public async Task DeployAsync(string name, string body)
    {
        using var response = await SendAsync(HttpMethod.Put, "/v1/functions/" + name, body);
        await Expect(response, 201);
    }

    /// <summary>The body of <paramref name="response"/> as JSON, after checking its status.</summary>
    public static async Task<JsonElement> Expect(HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}: expected {status}, got {(int)response.StatusCode} {text[..Math.Min(text.Length, 500)]}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string key, string? json)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = new("Bearer", key);
        return await http.SendAsync(request);
    }
}
