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
public sealed partial class CloisterClient
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

    /// <summary>Every API key, admin and tenant keys, revoked ones too: ids, tenants, scopes and times, never a secret (admin key).</summary>
    public Task<ApiKeyList> ListApiKeysAsync(CancellationToken cancellationToken = default)
        => SendAsync<object, ApiKeyList>(HttpMethod.Get, "v1/admin/apikeys", null, null, ClientJsonContext.Default.ApiKeyList, cancellationToken);

    public Task<ApiKeyCreated> CreateAdminKeyAsync(CancellationToken cancellationToken = default)
        => SendAsync<object, ApiKeyCreated>(HttpMethod.Post, "v1/admin/apikeys", null, null, ClientJsonContext.Default.ApiKeyCreated, cancellationToken);

    public Task RevokeAdminKeyAsync(string keyId, CancellationToken cancellationToken = default)
        => SendAsync<object, object>(HttpMethod.Delete, $"v1/admin/apikeys/{Uri.EscapeDataString(keyId)}", null, null, null, cancellationToken);

    public Task<DataKeyRotated> RotateDataKeyAsync(string tenantId, CancellationToken cancellationToken = default)
        => SendAsync<object, DataKeyRotated>(HttpMethod.Post, $"v1/tenants/{Uri.EscapeDataString(tenantId)}/datakeys/rotate", null, null, ClientJsonContext.Default.DataKeyRotated, cancellationToken);

    /// <summary>Deploys a function: <paramref name="manifest"/> is the manifest object, <paramref name="bundleTarGz"/> the code as a tar.gz.</summary>
    public Task<FunctionDeployed> DeployFunctionAsync(string name, JsonElement manifest, byte[] bundleTarGz, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Put, FunctionPath(name), new DeployFunctionBody(manifest, Convert.ToBase64String(bundleTarGz)), ClientJsonContext.Default.DeployFunctionBody, ClientJsonContext.Default.FunctionDeployed, cancellationToken);

    public Task<FunctionList> ListFunctionsAsync(CancellationToken cancellationToken = default)
        => SendAsync<object, FunctionList>(HttpMethod.Get, "v1/functions", null, null, ClientJsonContext.Default.FunctionList, cancellationToken);

    public Task<FunctionDetail> GetFunctionAsync(string name, CancellationToken cancellationToken = default)
        => SendAsync<object, FunctionDetail>(HttpMethod.Get, FunctionPath(name), null, null, ClientJsonContext.Default.FunctionDetail, cancellationToken);

    public Task DeleteFunctionAsync(string name, CancellationToken cancellationToken = default)
        => SendAsync<object, object>(HttpMethod.Delete, FunctionPath(name), null, null, null, cancellationToken);

    /// <summary>Invokes a function and waits for its result; a failed invocation throws <see cref="CloisterApiException"/> (its Problem carries the invocation id).</summary>
    public Task<InvocationResult> InvokeFunctionAsync(string name, JsonElement args, InvokePin? pin = null, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, FunctionPath(name) + "/invoke", new InvokeFunctionBody(args, pin?.Version, pin?.Measurement), ClientJsonContext.Default.InvokeFunctionBody, ClientJsonContext.Default.InvocationResult, cancellationToken);

    /// <summary>Starts an asynchronous invocation; poll it with <see cref="GetInvocationAsync"/>.</summary>
    public Task<InvocationAccepted> StartInvocationAsync(string name, JsonElement args, InvokePin? pin = null, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, FunctionPath(name) + "/invoke?mode=async", new InvokeFunctionBody(args, pin?.Version, pin?.Measurement), ClientJsonContext.Default.InvokeFunctionBody, ClientJsonContext.Default.InvocationAccepted, cancellationToken);

    public Task<InvocationInfo> GetInvocationAsync(string invocationId, CancellationToken cancellationToken = default)
        => SendAsync<object, InvocationInfo>(HttpMethod.Get, $"v1/invocations/{Uri.EscapeDataString(invocationId)}", null, null, ClientJsonContext.Default.InvocationInfo, cancellationToken);

    private static string FunctionPath(string name) => $"v1/functions/{Uri.EscapeDataString(name)}";

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
