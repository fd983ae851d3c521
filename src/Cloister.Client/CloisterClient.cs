using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Cloister.Client;

/// <summary>The server answered with problem details (or an unexpected status).</summary>
public sealed class CloisterApiException(int status, Problem problem)
    : Exception($"{problem.Title ?? "HTTP " + status}{(problem.Detail is null ? "" : ": " + problem.Detail)}")
{
    /// <summary>HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>The problem details.</summary>
    public Problem Problem { get; } = problem;
}

/// <summary>.NET client for the Cloister HTTP API. Thread-safe; reuse one instance.</summary>
/// <remarks>The <see cref="HttpClient"/> passed in is owned by the caller.</remarks>
public sealed class CloisterClient
{
    private readonly HttpClient _http;

    /// <summary>Creates a client for <paramref name="http"/>.BaseAddress authenticating with <paramref name="apiKey"/>.</summary>
    public CloisterClient(HttpClient http, string apiKey)
    {
        _http = http;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public Task<TokenCreated> CreateTokenAsync(string value, TokenizeOptions? options = null, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, "v1/tokens", ToBody(value, options), ClientJsonContext.Default.CreateTokenBody, ClientJsonContext.Default.TokenCreated, cancellationToken);

    public Task<BatchCreated> CreateTokensAsync(IEnumerable<(string Value, TokenizeOptions? Options)> items, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, "v1/tokens/batch", new BatchBody(items.Select(i => ToBody(i.Value, i.Options)).ToList()), ClientJsonContext.Default.BatchBody, ClientJsonContext.Default.BatchCreated, cancellationToken);

    public Task<TokenInfo> GetTokenAsync(string token, CancellationToken cancellationToken = default)
        => SendAsync<object, TokenInfo>(HttpMethod.Get, $"v1/tokens/{Uri.EscapeDataString(token)}", null, null, ClientJsonContext.Default.TokenInfo, cancellationToken);

    public async Task<string> RevealAsync(string token, CancellationToken cancellationToken = default)
        => (await SendAsync<object, RevealedValue>(HttpMethod.Post, $"v1/tokens/{Uri.EscapeDataString(token)}/reveal", null, null, ClientJsonContext.Default.RevealedValue, cancellationToken)).Value;

    public Task DeleteTokenAsync(string token, CancellationToken cancellationToken = default)
        => SendAsync<object, object>(HttpMethod.Delete, $"v1/tokens/{Uri.EscapeDataString(token)}", null, null, null, cancellationToken);

    public Task<SearchResult> SearchAsync(string value, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, "v1/tokens/search", new SearchBody(value), ClientJsonContext.Default.SearchBody, ClientJsonContext.Default.SearchResult, cancellationToken);

    public Task<TenantCreated> CreateTenantAsync(string name, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, "v1/tenants", new CreateTenantBody(name), ClientJsonContext.Default.CreateTenantBody, ClientJsonContext.Default.TenantCreated, cancellationToken);

    public Task<ApiKeyCreated> CreateApiKeyAsync(string tenantId, IReadOnlyList<string> scopes, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, $"v1/tenants/{Uri.EscapeDataString(tenantId)}/apikeys", new CreateApiKeyBody(scopes), ClientJsonContext.Default.CreateApiKeyBody, ClientJsonContext.Default.ApiKeyCreated, cancellationToken);

    public Task RevokeApiKeyAsync(string tenantId, string keyId, CancellationToken cancellationToken = default)
        => SendAsync<object, object>(HttpMethod.Delete, $"v1/tenants/{Uri.EscapeDataString(tenantId)}/apikeys/{Uri.EscapeDataString(keyId)}", null, null, null, cancellationToken);

    public Task<ApiKeyCreated> CreateAdminKeyAsync(CancellationToken cancellationToken = default)
        => SendAsync<object, ApiKeyCreated>(HttpMethod.Post, "v1/admin/apikeys", null, null, ClientJsonContext.Default.ApiKeyCreated, cancellationToken);

    public Task RevokeAdminKeyAsync(string keyId, CancellationToken cancellationToken = default)
        => SendAsync<object, object>(HttpMethod.Delete, $"v1/admin/apikeys/{Uri.EscapeDataString(keyId)}", null, null, null, cancellationToken);

    public Task<DataKeyRotated> RotateDataKeyAsync(string tenantId, CancellationToken cancellationToken = default)
        => SendAsync<object, DataKeyRotated>(HttpMethod.Post, $"v1/tenants/{Uri.EscapeDataString(tenantId)}/datakeys/rotate", null, null, ClientJsonContext.Default.DataKeyRotated, cancellationToken);

    private static CreateTokenBody ToBody(string value, TokenizeOptions? o)
        => new(value, o?.Format, o?.Alphabet, o?.Classifier, o?.Deterministic, o?.TtlSeconds, o?.Metadata);

    private async Task<TResponse> SendAsync<TBody, TResponse>(HttpMethod method, string path, TBody? body, JsonTypeInfo<TBody>? bodyType, JsonTypeInfo<TResponse>? responseType, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null && bodyType is not null)
        {
            request.Content = JsonContent.Create(body, bodyType);
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new CloisterApiException((int)response.StatusCode, await ReadProblemAsync(response, cancellationToken));
        }

        if (responseType is null)
        {
            return default!;
        }

        return await response.Content.ReadFromJsonAsync(responseType, cancellationToken)
            ?? throw new CloisterApiException((int)response.StatusCode, new Problem(null, "Empty response", (int)response.StatusCode, null, null));
    }

    private static async Task<Problem> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync(ClientJsonContext.Default.Problem, cancellationToken);
            if (problem is not null)
            {
                return problem;
            }
        }
        catch (JsonException)
        {
        }

        return new Problem(null, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}", (int)response.StatusCode, null, null);
    }
}
