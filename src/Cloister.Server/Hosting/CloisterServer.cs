using Cloister.Protocol;
using Cloister.Server.Attestation;
using Cloister.Server.Auth;
using Cloister.Server.Functions;
using Cloister.Server.Http;
using Cloister.Server.Sealed;
using Cloister.Server.Tenants;
using Cloister.Server.Tokens;
using Cloister.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Hosting;

/// <summary>A configuration problem that stops the server with a one-line message.</summary>
public sealed class ServerConfigurationException(string message) : Exception(message);

/// <summary>
/// Builds the router: Kestrel, the store, authentication, the HTTP surface and background jobs.
/// The enclave is reached only through message frames over an IFrameTransport.
/// </summary>
public static class CloisterServer
{
    /// <summary>What is wrong with <paramref name="options"/> (the message <see cref="BuildAsync"/> would stop with), or null.</summary>
    /// <remarks><c>serve</c> checks first, so that a bad setting fails before it starts the worker and the key broker.</remarks>
    public static string? CheckOptions(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Validate() ?? ListenPlan.Check(options.Urls, options.ListenRules, out _);
    }

    /// <summary>Builds (but does not start) the router.</summary>
    public static async Task<RouterHost> BuildAsync(ServerOptions options, IFrameTransport enclave, Action<ILoggingBuilder>? logging, CancellationToken cancellationToken)
    {
        var insecureNonLoopback = false;
        var invalid = options.Validate() ?? ListenPlan.Check(options.Urls, options.ListenRules, out insecureNonLoopback);
        if (invalid is not null)
        {
            throw new ServerConfigurationException(invalid);
        }

        SecureFiles.CreateDirectory(options.DataDirectory);
        var store = await SqliteVaultStore.OpenAsync(new StoreOptions(options.DataDirectory) { FullSync = options.FullSync }, TimeProvider.System, cancellationToken);

        // Invocations still running belong to a router that stopped without finishing them (a crash or kill):
        // no enclave is driving them any more, so they are failed now, before anything can ask about them.
        await store.FailRunningInvocationsAsync(InvocationService.InterruptedCode, InvocationService.InterruptedDetail, TimeProvider.System.GetUtcNow(), cancellationToken);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });

        // Everything is configured explicitly from ServerOptions. Without this, a "Kestrel:Endpoints"
        // section from the environment or an appsettings.json could bind addresses the listen plan never saw.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        logging?.Invoke(builder.Logging);

        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls([.. options.Urls]);
        var certificate = options.HasTls ? Certificates.Load(options) : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The batch route raises its own limit; requests are authenticated before their body is read.
            kestrel.Limits.MaxRequestBodySize = JsonBody.DefaultLimit;
            if (certificate is not null)
            {
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
            }
        });

        var services = builder.Services;
        services.AddSingleton(Options.Create(options));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IVaultStore>(store);

        // Services take the areas of the store they use (IVaultStore.cs); the one store serves them all.
        services.AddSingleton<ITenantStore>(store);
        services.AddSingleton<IApiKeyStore>(store);
        services.AddSingleton<ITokenStore>(store);
        services.AddSingleton<IFunctionStore>(store);
        services.AddSingleton<IInvocationStore>(store);
        services.AddSingleton<IAuditStore>(store);
        services.AddSingleton<TenantDirectory>();
        services.AddSingleton(sp => new EnclaveClient(
            enclave,
            sp.GetRequiredService<TenantDirectory>(),
            new FairGate("requests to the enclave worker", FrameLanes.DefaultRequestSlots, options.MaxRunningRequestsPerTenant, options.MaxQueuedRequestsPerTenant)));
        services.AddSingleton<LargeRequests>();
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddSingleton<SearchRateLimiter>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<TenantService>();
        services.AddSingleton<AttestationService>();
        services.AddSingleton<FunctionService>();
        services.AddSingleton<FunctionInvoker>();
        services.AddSingleton<WorkerAttestation>();
        services.AddSingleton<ReadinessProbe>();
        services.AddSingleton<InvocationDriver>();
        services.AddSingleton<InvocationService>();
        services.AddHostedService(sp => sp.GetRequiredService<InvocationService>());
        services.AddSingleton<ReencryptionSignal>();
        services.AddSingleton<ReencryptionWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<ReencryptionWorker>());
        services.AddHostedService<ExpiryPurger>();
        services.AddSingleton<FailedLookupAudit>();
        services.AddHostedService(sp => sp.GetRequiredService<FailedLookupAudit>());
        services.AddSingleton<KeyShredder>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyShredder>());
        services.AddProblemDetails();
        services.AddCloisterOpenApi();
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(1, ProblemJsonContext.Default);

            // Responses write numbers as numbers either way; strict handling keeps the document's integers integers
            // (request bodies are read with ApiJsonContext's own options, unchanged).
            json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });

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
        app.MapTenantEndpoints();
        app.MapTokenEndpoints();
        app.MapAttestationEndpoints();
        app.MapFunctionEndpoints();
        app.MapSealedEndpoints();

        // Created now rather than on the first request: the result-signing key exists from first start.
        app.Services.GetRequiredService<AttestationService>();

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cloister");
        if (insecureNonLoopback)
        {
            LogMessages.InsecureHttp(logger);
        }

        string? credentialsPath;
        try
        {
            credentialsPath = await Bootstrap.EnsureAsync(app.Services.GetRequiredService<TenantService>(), store, options.DataDirectory, options.BootstrapStepDone, cancellationToken);
        }
        catch
        {
            // The container does not dispose the store it was handed: release it (and the data directory's lock).
            await app.DisposeAsync();
            await store.DisposeAsync();
            certificate?.Dispose();
            throw;
        }

        return new RouterHost(app, options, certificate, credentialsPath);
    }

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
public sealed class RouterHost(WebApplication app, ServerOptions options, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate, string? credentialsPath) : IAsyncDisposable
{
    /// <summary>The ASP.NET Core application.</summary>
    public WebApplication App { get; } = app;

    /// <summary>Where first start wrote the credentials; null when they already existed.</summary>
    public string? CredentialsPath { get; } = credentialsPath;

    /// <summary>The addresses Kestrel bound (after <see cref="StartAsync"/>), with real ports for port 0.</summary>
    public IReadOnlyList<string> Addresses => App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>The self-signed or operator certificate's SHA-256 thumbprint, when serving TLS.</summary>
    public string? CertificateSha256 => certificate?.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256);

    /// <summary>Starts listening and records the address in server.json for the CLI.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await App.StartAsync(cancellationToken);
        var addresses = Addresses;

        // Belt and braces: whatever bound, it must pass the same plan the configured URLs passed.
        if (ListenPlan.Check(addresses, options.ListenRules, out _) is { } unsafeBinding)
        {
            await App.StopAsync(CancellationToken.None);
            throw new ServerConfigurationException($"Refusing to serve: {unsafeBinding}");
        }

        var url = addresses.Count > 0 ? addresses[0] : options.Urls[0];
        Bootstrap.WriteEndpoint(options.DataDirectory, new ServerEndpoint(url, CertificateSha256));
    }

    /// <summary>Runs one re-encryption pass now (tests and the CLI's rotate --wait).</summary>
    public Task<int> ReencryptNowAsync(CancellationToken cancellationToken)
        => App.Services.GetRequiredService<ReencryptionWorker>().RunOnceAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        // The container does not dispose instances it was handed: release the store (and its lock) here.
        var store = App.Services.GetRequiredService<IVaultStore>();
        await App.DisposeAsync();
        await store.DisposeAsync();
        certificate?.Dispose();
    }
}
