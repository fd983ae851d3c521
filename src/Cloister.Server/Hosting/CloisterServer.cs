using Cloister.Hosting.Listeners;
using Cloister.Protocol;
using Cloister.Server.Attestation;
using Cloister.Server.Functions;
using Cloister.Server.Http;
using Cloister.Server.Observability;
using Cloister.Server.Sealed;
using Cloister.Server.Tenants;
using Cloister.Server.Tokens;
using Cloister.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace Cloister.Server.Hosting;

/// <summary>A configuration problem that stops the server with a one-line message.</summary>
public sealed class ServerConfigurationException(string message) : Exception(message);

/// <summary>
/// Builds the router: Kestrel, the store, authentication, the HTTP surface and background jobs.
/// The enclave is reached only through message frames over an IFrameTransport.
/// </summary>
public static class CloisterServer
{
    /// <summary>What is wrong with <paramref name="options"/> (the message <see cref="BuildAsync(ServerOptions, IFrameTransport, Action{ILoggingBuilder}?, CancellationToken)"/> would stop with), or null.</summary>
    /// <remarks><c>serve</c> checks first, so that a bad setting fails before it starts the worker and the key broker.</remarks>
    public static string? CheckOptions(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Validate() ?? Listener.Check(ListenerSpec(options, certificate: null), out _);
    }

    /// <summary>Builds (but does not start) the router.</summary>
    public static Task<RouterHost> BuildAsync(ServerOptions options, IFrameTransport enclave, Action<ILoggingBuilder>? logging, CancellationToken cancellationToken)
        => BuildAsync(options, enclave, logging, configureServices: null, cancellationToken);

    /// <summary>
    /// Builds (but does not start) the router; <paramref name="configureServices"/> registers services before the
    /// router's own (<see cref="CloisterServiceCollectionExtensions.AddCloisterRouter"/>), which then keeps them: a test
    /// passes its <see cref="TimeProvider"/> this way.
    /// </summary>
    public static async Task<RouterHost> BuildAsync(ServerOptions options, IFrameTransport enclave, Action<ILoggingBuilder>? logging, Action<IServiceCollection>? configureServices, CancellationToken cancellationToken)
    {
        if (CheckOptions(options) is { } invalid)
        {
            throw new ServerConfigurationException(invalid);
        }

        SecureFiles.CreateDirectory(options.DataDirectory);

        var certificate = options.HasTls ? Certificates.Load(options) : null;
        var listener = ListenerSpec(options, certificate);
        var builder = Listener.CreateBuilder(listener);
        logging?.Invoke(builder.Logging);

        configureServices?.Invoke(builder.Services);
        builder.Services.AddCloisterRouter(options, enclave);

        var app = builder.Build();
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = HandleExceptionAsync });
        app.UseStatusCodePages(StatusCodePageAsync);
        app.Use(static async (http, next) =>
        {
            // The slots a request takes (large-request slots) stay taken while a frame it sent is unanswered (RequestHolds).
            using var holds = RequestHolds.Begin();
            await next(http);
        });
        app.MapOpenApi();
        app.MapHealthEndpoints();
        app.MapMetricsEndpoint();
        app.MapTenantEndpoints();
        app.MapTokenEndpoints();
        app.MapAttestationEndpoints();
        app.MapFunctionEndpoints();
        app.MapSealedEndpoints();

        string? credentialsPath;
        try
        {
            await app.Services.GetRequiredService<RouterStore>().OpenAsync(cancellationToken);
            var store = app.Services.GetRequiredService<IVaultStore>();

            // Invocations still running belong to a router that stopped without finishing them (a crash or kill):
            // no enclave is driving them any more, so they are failed now, before anything can ask about them.
            await store.FailRunningInvocationsAsync(InvocationService.InterruptedCode, InvocationService.InterruptedDetail, app.Services.GetRequiredService<TimeProvider>().GetUtcNow(), cancellationToken);

            // Created now rather than on the first request: the result-signing key exists from first start.
            app.Services.GetRequiredService<AttestationService>();

            credentialsPath = await Bootstrap.EnsureAsync(app.Services.GetRequiredService<TenantService>(), store, options.DataDirectory, options.BootstrapStepDone, cancellationToken);
        }
        catch
        {
            // The container owns the store: disposing it closes the store and releases the data directory's lock.
            await app.DisposeAsync();
            certificate?.Dispose();
            throw;
        }

        return new RouterHost(app, options, listener, credentialsPath);
    }

    /// <summary>The router's listener: <paramref name="options"/>' addresses and TLS; the batch route raises its own body limit.</summary>
    private static ListenerSpec ListenerSpec(ServerOptions options, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
        => new(options.Urls, options.ListenRules, JsonBody.DefaultLimit) { Certificate = certificate };

    private static async Task HandleExceptionAsync(HttpContext http)
    {
        var error = http.Features.Get<IExceptionHandlerFeature>()?.Error;
        var result = error switch
        {
            EnclaveException e => Problems.FromEnclave(e.Error),
            TransportUnavailableException => Problems.WorkerUnavailable(http),
            BadHttpRequestException e => Problems.FromBadRequest(e),
            TenantBusyException e => Problems.TenantBusy(http, e),
            FrameTooLargeException e => Problems.MessageTooLarge(e),
            OperationCanceledException => Problems.Create(499, "request-cancelled", "Request cancelled"),
            _ => Problems.Create(StatusCodes.Status500InternalServerError, "internal", "Internal error", "The server could not complete the request."),
        };
        await result.ExecuteAsync(http);
    }

    private static async Task StatusCodePageAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var result = http.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => Problems.Create(404, "route-not-found", "Not found", "No route matches this path."),
            StatusCodes.Status405MethodNotAllowed => Problems.Create(405, "method-not-allowed", "Method not allowed", $"{http.Request.Method} is not allowed on this route."),
            StatusCodes.Status415UnsupportedMediaType => Problems.Create(415, "unsupported-media-type", "Unsupported media type", "Send the body as JSON with the header 'Content-Type: application/json'."),
            var status => Problems.Create(status, "http-" + status, "HTTP " + status),
        };
        await result.ExecuteAsync(http);
    }
}

/// <summary>A built router, ready to start.</summary>
public sealed class RouterHost(WebApplication app, ServerOptions options, ListenerSpec listener, string? credentialsPath) : IAsyncDisposable
{
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2? _certificate = listener.Certificate;

    /// <summary>The ASP.NET Core application.</summary>
    public WebApplication App { get; } = app;

    /// <summary>Where first start wrote the credentials; null when they already existed.</summary>
    public string? CredentialsPath { get; } = credentialsPath;

    /// <summary>The addresses Kestrel bound (after <see cref="StartAsync"/>), with real ports for port 0.</summary>
    public IReadOnlyList<string> Addresses => App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>The self-signed or operator certificate's SHA-256 thumbprint, when serving TLS.</summary>
    public string? CertificateSha256 => _certificate?.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256);

    /// <summary>Starts listening and records the address in server.json for the CLI.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Whatever bound must pass the same plan the configured URLs passed.
        bool insecureNonLoopback;
        try
        {
            insecureNonLoopback = await Listener.StartAsync(App, listener, cancellationToken);
        }
        catch (ListenRefusedException e)
        {
            throw new ServerConfigurationException(e.Message);
        }

        if (insecureNonLoopback)
        {
            LogMessages.InsecureHttp(App.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cloister"));
        }

        var addresses = Addresses;

        var url = addresses.Count > 0 ? addresses[0] : options.Urls[0];
        Bootstrap.WriteEndpoint(options.DataDirectory, new ServerEndpoint(url, CertificateSha256));
    }

    /// <summary>Runs one re-encryption pass now (tests and the CLI's rotate --wait).</summary>
    public Task<int> ReencryptNowAsync(CancellationToken cancellationToken)
        => App.Services.GetRequiredService<ReencryptionWorker>().RunOnceAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        // The container owns the store: this closes it and releases the data directory's lock.
        await App.DisposeAsync();
        _certificate?.Dispose();
    }
}
