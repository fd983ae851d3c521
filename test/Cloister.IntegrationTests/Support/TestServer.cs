using Cloister.Worker;
using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Cli;
using Cloister.Protocol;
using Cloister.Server;
using Cloister.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.IntegrationTests.Support;

/// <summary>A tenant created for a test, with one API key.</summary>
public sealed record TenantHandle(string Id, string Key, string? KeyId);

/// <summary>
/// A real router on Kestrel (127.0.0.1, port 0) with the in-process enclave and key broker, a SQLite
/// store in a temporary data directory, and every log event captured. Records every exchange.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public static readonly string[] AllTenantScopes = ["tokens:write", "tokens:reveal", "tokens:search", "functions:deploy", "functions:invoke", "attestation"];

    private readonly InProcessPartition _partition;
    private readonly TempDirectory? _ownedDirectory;
    private readonly ConcurrentQueue<ApiResponse> _exchanges = new();
    private readonly Lazy<HttpClient> _expectContinueHttp;

    private TestServer(RouterHost host, InProcessPartition partition, TempDirectory? ownedDirectory, string dataDirectory, CapturingLoggerProvider logs)
    {
        Host = host;
        _partition = partition;
        _ownedDirectory = ownedDirectory;
        DataDirectory = dataDirectory;
        Logs = logs;

        var address = new Uri(host.Addresses[0]);
        var builder = new UriBuilder(address);
        if (builder.Host is "0.0.0.0" or "[::]" or "::")
        {
            builder.Host = "127.0.0.1";
        }

        BaseAddress = builder.Uri;
        Http = CreateHttpClient();

        // The wait for "100 Continue" is a generous bound, never reached: a server that refuses the body answers at once,
        // one that wants it sends 100 at once. (The default, 1 s, would send the body anyway on a loaded machine.)
        _expectContinueHttp = new Lazy<HttpClient>(() => CreateHttpClient(expect100ContinueTimeout: TimeSpan.FromSeconds(60)));

        using var credentials = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dataDirectory, "credentials.json")));
        AdminKey = credentials.RootElement.GetProperty("adminKey").GetString()!;
        DefaultTenant = new TenantHandle(
            credentials.RootElement.GetProperty("tenantId").GetString()!,
            credentials.RootElement.GetProperty("tenantKey").GetString()!,
            null);
    }

    public RouterHost Host { get; }

    public string DataDirectory { get; }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public CapturingLoggerProvider Logs { get; }

    public string AdminKey { get; }

    /// <summary>The tenant and key of credentials.json (the key holds every tenant scope).</summary>
    public TenantHandle DefaultTenant { get; }

    /// <summary>Every exchange made through this object, in completion order.</summary>
    public IReadOnlyList<ApiResponse> Exchanges => [.. _exchanges];

    /// <summary>Where the master key file is.</summary>
    public string MasterKeyPath => _partition.MasterKeyPath;

    /// <summary>
    /// Builds and starts a server. With <paramref name="dataDirectory"/> null a temporary one is created and removed on dispose.
    /// <paramref name="sandboxBackend"/> (<c>runsc</c> or <c>bwrap</c>) runs functions on that backend instead of the best one found.
    /// <paramref name="wrapEnclave"/> wraps the router's transport to the enclave (to record what the router handles).
    /// <paramref name="time"/> is the router's clock (a <c>FakeTimeProvider</c> that the test advances past expiry and
    /// purge intervals instead of sleeping); the enclave, the key broker and Kestrel keep the real one.
    /// </summary>
    public static async Task<TestServer> StartAsync(
        string? dataDirectory = null,
        LogLevel logLevel = LogLevel.Information,
        Func<ServerOptions, ServerOptions>? configure = null,
        string? sandboxBackend = null,
        Func<IFrameTransport, IFrameTransport>? wrapEnclave = null,
        TimeProvider? time = null)
    {
        var owned = dataDirectory is null ? TempDirectory.Create("server") : null;
        var directory = dataDirectory ?? owned!.Path;
        var options = new ServerOptions { DataDirectory = directory, Urls = ["http://127.0.0.1:0"] };
        options = configure?.Invoke(options) ?? options;

        var logs = new CapturingLoggerProvider();
        var partition = InProcessPartition.Open(directory, new FunctionSettings { BackendName = sandboxBackend });
        try
        {
            var host = await CloisterServer.BuildAsync(
                options,
                wrapEnclave?.Invoke(partition.Transport) ?? partition.Transport,
                logging =>
                {
                    logging.SetMinimumLevel(logLevel);
                    logging.AddProvider(logs);
                },
                time is null ? null : services => services.AddSingleton(time),
                CancellationToken.None);
            await host.StartAsync(CancellationToken.None);
            return new TestServer(host, partition, owned, directory, logs);
        }
        catch
        {
            await partition.DisposeAsync();
            owned?.Dispose();
            throw;
        }
    }

    /// <summary>An HTTP client for this server; for HTTPS it trusts exactly the server's certificate.</summary>
    public HttpClient CreateHttpClient(TimeSpan? expect100ContinueTimeout = null)
    {
        var handler = new SocketsHttpHandler();
        if (expect100ContinueTimeout is { } wait)
        {
            handler.Expect100ContinueTimeout = wait;
        }

        if (Host.CertificateSha256 is { } pin)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None
                || (certificate is not null && string.Equals(certificate.GetCertHashString(HashAlgorithmName.SHA256), pin, StringComparison.OrdinalIgnoreCase));
        }

        return new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public static string Json(object body) => JsonSerializer.Serialize(body);

    /// <summary>Sends a request with <c>Authorization: Bearer {key}</c> (no header when <paramref name="key"/> is null).</summary>
    public Task<ApiResponse> SendAsync(HttpMethod method, string path, string? key, string? json = null, HttpClient? client = null)
        => SendWithAuthorizationAsync(method, path, key is null ? null : "Bearer " + key, json, "application/json", client);

    /// <summary>
    /// Sends a body the server is expected to refuse unread (over a body limit) with <c>Expect: 100-continue</c>: the client
    /// sends the headers and waits for the answer before it sends any of the body. Sending it outright races the server,
    /// which may answer 413 and close the connection while the client is still writing (a broken pipe on the client).
    /// </summary>
    public Task<ApiResponse> SendOversizedAsync(HttpMethod method, string path, string key, string body)
        => SendWithAuthorizationAsync(method, path, "Bearer " + key, body, client: _expectContinueHttp.Value, expectContinue: true);

    /// <summary>Sends a request with a raw Authorization header value and any content type.</summary>
    public async Task<ApiResponse> SendWithAuthorizationAsync(HttpMethod method, string path, string? authorization, string? body, string mediaType = "application/json", HttpClient? client = null, bool expectContinue = false)
    {
        using var request = new HttpRequestMessage(method, new Uri(BaseAddress, path));
        request.Headers.ExpectContinue = expectContinue;
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, mediaType);
        }

        using var response = await (client ?? Http).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var headers = response.Headers.ToString() + response.Content.Headers;
        var result = new ApiResponse(method.Method, path, response.StatusCode, response.Content.Headers.ContentType?.MediaType, headers, text);
        _exchanges.Enqueue(result);
        return result;
    }

    public static string TokenPath(string token) => "/v1/tokens/" + Uri.EscapeDataString(token);

    public Task<ApiResponse> CreateAsync(string key, object body, HttpClient? client = null)
        => SendAsync(HttpMethod.Post, "/v1/tokens", key, Json(body), client);

    /// <summary>Creates a token and returns the 201 answer (fails the test otherwise).</summary>
    public async Task<ApiResponse> CreateOkAsync(string key, object body, HttpClient? client = null)
        => (await CreateAsync(key, body, client)).Expect(201);

    public async Task<string> CreateTokenAsync(string key, object body, HttpClient? client = null)
        => (await CreateOkAsync(key, body, client)).Text("token");

    public Task<ApiResponse> BatchAsync(string key, IEnumerable<object> items)
        => SendAsync(HttpMethod.Post, "/v1/tokens/batch", key, Json(new { items }));

    public Task<ApiResponse> GetAsync(string key, string token, HttpClient? client = null)
        => SendAsync(HttpMethod.Get, TokenPath(token), key, null, client);

    public Task<ApiResponse> RevealAsync(string key, string token, HttpClient? client = null)
        => SendAsync(HttpMethod.Post, TokenPath(token) + "/reveal", key, null, client);

    public async Task<string> RevealValueAsync(string key, string token, HttpClient? client = null)
        => (await RevealAsync(key, token, client)).Expect(200).Text("value");

    public Task<ApiResponse> DeleteAsync(string key, string token)
        => SendAsync(HttpMethod.Delete, TokenPath(token), key);

    public Task<ApiResponse> SearchAsync(string key, string value)
        => SendAsync(HttpMethod.Post, "/v1/tokens/search", key, Json(new { value }));

    /// <summary>The tokens a search returns (fails the test unless it answers 200).</summary>
    public async Task<IReadOnlyList<string>> SearchTokensAsync(string key, string value)
        => [.. (await SearchAsync(key, value)).Expect(200).Json.GetProperty("tokens").EnumerateArray().Select(t => t.GetProperty("token").GetString()!)];

    /// <summary>Creates a tenant and a key for it holding <paramref name="scopes"/> (all tenant scopes when none are given).</summary>
    public async Task<TenantHandle> CreateTenantAsync(params string[] scopes)
    {
        var tenant = (await SendAsync(HttpMethod.Post, "/v1/tenants", AdminKey, Json(new { name = "test-" + Guid.NewGuid().ToString("N")[..8] }))).Expect(201);
        var id = tenant.Text("id");
        var (keyId, key) = await CreateApiKeyAsync(id, scopes);
        return new TenantHandle(id, key, keyId);
    }

    /// <summary>Creates an API key for a tenant; returns its id and secret.</summary>
    public async Task<(string Id, string Key)> CreateApiKeyAsync(string tenantId, params string[] scopes)
    {
        var created = (await SendAsync(HttpMethod.Post, $"/v1/tenants/{tenantId}/apikeys", AdminKey, Json(new { scopes = scopes.Length == 0 ? AllTenantScopes : scopes }))).Expect(201);
        return (created.Text("id"), created.Text("key"));
    }

    public async Task RevokeApiKeyAsync(string tenantId, string keyId)
        => (await SendAsync(HttpMethod.Delete, $"/v1/tenants/{tenantId}/apikeys/{keyId}", AdminKey)).Expect(204);

    public async Task<int> RotateAsync(string tenantId)
        => (await SendAsync(HttpMethod.Post, $"/v1/tenants/{tenantId}/datakeys/rotate", AdminKey)).Expect(200).Json.GetProperty("version").GetInt32();

    /// <summary>Every log line captured so far.</summary>
    public IReadOnlyList<LogEntry> LogEntries => Logs.Entries;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (_expectContinueHttp.IsValueCreated)
        {
            _expectContinueHttp.Value.Dispose();
        }

        await Host.App.StopAsync(CancellationToken.None);
        await Host.DisposeAsync();
        await _partition.DisposeAsync();
        _ownedDirectory?.Dispose();
    }
}

/// <summary>One server shared by the tests of a class (each test makes its own tenants, so they do not couple).</summary>
public class ServerFixture : IAsyncLifetime
{
    private readonly TimeProvider? _time;
    private TestServer? _server;

    public ServerFixture()
    {
    }

    protected ServerFixture(TimeProvider time) => _time = time;

    public TestServer Server => _server ?? throw new InvalidOperationException("The fixture has not started.");

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(time: _time);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// A shared server whose router runs on <see cref="Clock"/>, a fake clock started at the real time: tests of expiry
/// advance it instead of sleeping. Tests of one class run one at a time, and each makes its own tenants and tokens.
/// </summary>
public sealed class FakeClockServerFixture : ServerFixture
{
    public FakeClockServerFixture()
        : this(new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds())))
    {
    }

    private FakeClockServerFixture(FakeTimeProvider clock)
        : base(clock) => Clock = clock;

    public FakeTimeProvider Clock { get; }
}
