using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Cloister.Api.Contracts;

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
        => SendAsync<CreateTokenRequest, TokenCreated>(HttpMethod.Post, "v1/tokens", ToBody(value, options), cancellationToken);

    public Task<BatchCreated> CreateTokensAsync(IEnumerable<(string Value, TokenizeOptions? Options)> items, CancellationToken cancellationToken = default)
        => SendAsync<BatchCreateRequest, BatchCreated>(HttpMethod.Post, "v1/tokens/batch", new BatchCreateRequest([.. items.Select(i => ToBody(i.Value, i.Options))]), cancellationToken);

    public Task<TokenInfo> GetTokenAsync(string token, CancellationToken cancellationToken = default)
        => GetAsync<TokenInfo>($"v1/tokens/{Uri.EscapeDataString(token)}", cancellationToken);

    public async Task<string> RevealAsync(string token, CancellationToken cancellationToken = default)
        => (await SendAsync<RevealedValue>(HttpMethod.Post, $"v1/tokens/{Uri.EscapeDataString(token)}/reveal", cancellationToken)).Value;

    public Task DeleteTokenAsync(string token, CancellationToken cancellationToken = default)
        => DeleteAsync($"v1/tokens/{Uri.EscapeDataString(token)}", cancellationToken);

    public Task<SearchResult> SearchAsync(string value, CancellationToken cancellationToken = default)
        => SendAsync<SearchRequest, SearchResult>(HttpMethod.Post, "v1/tokens/search", new SearchRequest(value), cancellationToken);

    public Task<TenantCreated> CreateTenantAsync(string name, CancellationToken cancellationToken = default)
        => SendAsync<CreateTenantRequest, TenantCreated>(HttpMethod.Post, "v1/tenants", new CreateTenantRequest(name), cancellationToken);

    /// <summary>Deletes a tenant and crypto-shreds its keys: its tokens can never be revealed again (admin key).</summary>
    public Task<TenantDeleted> DeleteTenantAsync(string tenantId, CancellationToken cancellationToken = default)
        => SendAsync<TenantDeleted>(HttpMethod.Delete, $"v1/tenants/{Uri.EscapeDataString(tenantId)}", cancellationToken);

    public Task<ApiKeyCreated> CreateApiKeyAsync(string tenantId, IReadOnlyList<string> scopes, CancellationToken cancellationToken = default)
        => SendAsync<CreateApiKeyRequest, ApiKeyCreated>(HttpMethod.Post, $"v1/tenants/{Uri.EscapeDataString(tenantId)}/apikeys", new CreateApiKeyRequest(scopes), cancellationToken);

    public Task RevokeApiKeyAsync(string tenantId, string keyId, CancellationToken cancellationToken = default)
        => DeleteAsync($"v1/tenants/{Uri.EscapeDataString(tenantId)}/apikeys/{Uri.EscapeDataString(keyId)}", cancellationToken);

    /// <summary>Every API key, admin and tenant keys, revoked ones too: ids, tenants, scopes and times, never a secret (admin key).</summary>
    public Task<ApiKeyList> ListApiKeysAsync(CancellationToken cancellationToken = default)
        => GetAsync<ApiKeyList>("v1/admin/apikeys", cancellationToken);

    public Task<ApiKeyCreated> CreateAdminKeyAsync(CancellationToken cancellationToken = default)
        => SendAsync<ApiKeyCreated>(HttpMethod.Post, "v1/admin/apikeys", cancellationToken);

    public Task RevokeAdminKeyAsync(string keyId, CancellationToken cancellationToken = default)
        => DeleteAsync($"v1/admin/apikeys/{Uri.EscapeDataString(keyId)}", cancellationToken);

    public Task<DataKeyRotated> RotateDataKeyAsync(string tenantId, CancellationToken cancellationToken = default)
        => SendAsync<DataKeyRotated>(HttpMethod.Post, $"v1/tenants/{Uri.EscapeDataString(tenantId)}/datakeys/rotate", cancellationToken);

    /// <summary>Retires (crypto-shreds) a data-key version no token or kept outcome uses any more (admin key).</summary>
    public Task<DataKeyRetired> RetireDataKeyAsync(string tenantId, int version, CancellationToken cancellationToken = default)
        => SendAsync<DataKeyRetired>(HttpMethod.Post, $"v1/tenants/{Uri.EscapeDataString(tenantId)}/datakeys/{version.ToString(System.Globalization.CultureInfo.InvariantCulture)}/retire", cancellationToken);

    /// <summary>Deploys a function: <paramref name="manifest"/> is the manifest object, <paramref name="bundleTarGz"/> the code as a tar.gz.</summary>
    public Task<FunctionDeployed> DeployFunctionAsync(string name, JsonElement manifest, byte[] bundleTarGz, CancellationToken cancellationToken = default)
        => SendAsync<DeployFunctionRequest, FunctionDeployed>(HttpMethod.Put, FunctionPath(name), new DeployFunctionRequest(manifest, Convert.ToBase64String(bundleTarGz)), cancellationToken);

    public Task<FunctionList> ListFunctionsAsync(CancellationToken cancellationToken = default)
        => GetAsync<FunctionList>("v1/functions", cancellationToken);

    public Task<FunctionDetail> GetFunctionAsync(string name, CancellationToken cancellationToken = default)
        => GetAsync<FunctionDetail>(FunctionPath(name), cancellationToken);

    public Task DeleteFunctionAsync(string name, CancellationToken cancellationToken = default)
        => DeleteAsync(FunctionPath(name), cancellationToken);

    /// <summary>
    /// Invokes a function and waits for its result (<see cref="InvocationSucceeded.Result"/> is the result's JSON text); a
    /// failed invocation throws <see cref="CloisterApiException"/> (its Problem carries the invocation id).
    /// </summary>
    public Task<InvocationSucceeded> InvokeFunctionAsync(string name, JsonElement args, InvokePin? pin = null, CancellationToken cancellationToken = default)
        => SendAsync<InvokeFunctionBody, InvocationSucceeded>(HttpMethod.Post, FunctionPath(name) + "/invoke", new InvokeFunctionBody(args, pin?.Version, pin?.Measurement), cancellationToken);

    /// <summary>Starts an asynchronous invocation; poll it with <see cref="GetInvocationAsync"/>.</summary>
    public Task<InvocationAccepted> StartInvocationAsync(string name, JsonElement args, InvokePin? pin = null, CancellationToken cancellationToken = default)
        => SendAsync<InvokeFunctionBody, InvocationAccepted>(HttpMethod.Post, FunctionPath(name) + "/invoke?mode=async", new InvokeFunctionBody(args, pin?.Version, pin?.Measurement), cancellationToken);

    public Task<InvocationInfo> GetInvocationAsync(string invocationId, CancellationToken cancellationToken = default)
        => GetAsync<InvocationInfo>($"v1/invocations/{Uri.EscapeDataString(invocationId)}", cancellationToken);

    private static string FunctionPath(string name) => $"v1/functions/{Uri.EscapeDataString(name)}";

    private static CreateTokenRequest ToBody(string value, TokenizeOptions? o)
        => new(value, o?.Format, o?.Alphabet, o?.Classifier, o?.Deterministic, o?.TtlSeconds, o?.Metadata);

    private Task<TResponse> GetAsync<TResponse>(string path, CancellationToken cancellationToken)
        => SendAsync<TResponse>(HttpMethod.Get, path, cancellationToken);

    private async Task DeleteAsync(string path, CancellationToken cancellationToken)
        => await SendCoreAsync<object, object>(HttpMethod.Delete, path, null, cancellationToken);

    private Task<TResponse> SendAsync<TResponse>(HttpMethod method, string path, CancellationToken cancellationToken)
        => SendCoreAsync<object, TResponse>(method, path, null, cancellationToken)!;

    private Task<TResponse> SendAsync<TBody, TResponse>(HttpMethod method, string path, TBody body, CancellationToken cancellationToken)
        where TBody : class
        => SendCoreAsync<TBody, TResponse>(method, path, body, cancellationToken)!;

    /// <summary>Sends <paramref name="body"/> (none when null) and reads a <typeparamref name="TResponse"/> (nothing for <see cref="object"/>).</summary>
    private async Task<TResponse?> SendCoreAsync<TBody, TResponse>(HttpMethod method, string path, TBody? body, CancellationToken cancellationToken)
        where TBody : class
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, ClientJsonContext.TypeOf<TBody>());
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new CloisterApiException((int)response.StatusCode, await ReadProblemAsync(response, cancellationToken));
        }

        if (typeof(TResponse) == typeof(object))
        {
            return default;
        }

        return await response.Content.ReadFromJsonAsync(ClientJsonContext.TypeOf<TResponse>(), cancellationToken)
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
