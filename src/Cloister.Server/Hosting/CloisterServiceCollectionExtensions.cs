using Cloister.Protocol;
using Cloister.Server.Attestation;
using Cloister.Server.Auth;
using Cloister.Server.Functions;
using Cloister.Server.Http;
using Cloister.Server.Observability;
using Cloister.Server.Sealed;
using Cloister.Server.Tenants;
using Cloister.Server.Tokens;
using Cloister.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Hosting;

/// <summary>The router's services, composed in one place (as YARP's <c>AddReverseProxy()</c> composes the proxy's).</summary>
internal static class CloisterServiceCollectionExtensions
{
    /// <summary>
    /// Registers the router: its options (validated when first read and at start), the clock, the store, the services
    /// behind the HTTP surface and the background jobs. The enclave is reached only through <paramref name="enclave"/>.
    /// </summary>
    /// <remarks>
    /// Everything is added with <c>TryAdd</c>, so a service registered before this call wins: tests register a
    /// <c>FakeTimeProvider</c> as the <see cref="TimeProvider"/>, and the store, the purge timers and every expiry check
    /// follow it. The store is opened by <see cref="RouterStore.OpenAsync"/> once the container is built, and the
    /// container disposes it.
    /// </remarks>
    public static IServiceCollection AddCloisterRouter(this IServiceCollection services, ServerOptions options, IFrameTransport enclave)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(enclave);

        services.AddOptions<ServerOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>());
        services.TryAddTransient<IOptionsFactory<ServerOptions>>(sp => new GivenOptionsFactory<ServerOptions>(
            options,
            sp.GetServices<IConfigureOptions<ServerOptions>>(),
            sp.GetServices<IPostConfigureOptions<ServerOptions>>(),
            sp.GetServices<IValidateOptions<ServerOptions>>()));
        services.TryAddSingleton(TimeProvider.System);

        // Services take the areas of the store they use (IVaultStore.cs); the one store serves them all.
        services.TryAddSingleton<RouterStore>();
        services.TryAddSingleton<IVaultStore>(sp => sp.GetRequiredService<RouterStore>().Store);
        services.TryAddSingleton<ITenantStore>(sp => sp.GetRequiredService<RouterStore>().Store);
        services.TryAddSingleton<IApiKeyStore>(sp => sp.GetRequiredService<RouterStore>().Store);
        services.TryAddSingleton<ITokenStore>(sp => sp.GetRequiredService<RouterStore>().Store);
        services.TryAddSingleton<IFunctionStore>(sp => sp.GetRequiredService<RouterStore>().Store);
        services.TryAddSingleton<IInvocationStore>(sp => sp.GetRequiredService<RouterStore>().Store);
        services.TryAddSingleton<IAuditStore>(sp => sp.GetRequiredService<RouterStore>().Store);

        services.TryAddSingleton<TenantDirectory>();
        services.AddRouterMetrics();
        services.TryAddSingleton(sp =>
        {
            var limits = sp.GetRequiredService<IOptions<ServerOptions>>().Value;
            return new EnclaveClient(
                new MeteredTransport(enclave, sp.GetRequiredService<RouterMetrics>(), sp.GetRequiredService<TimeProvider>()),
                sp.GetRequiredService<TenantDirectory>(),
                new FairGate("requests to the enclave worker", FrameLanes.DefaultRequestSlots, limits.MaxRunningRequestsPerTenant, limits.MaxQueuedRequestsPerTenant));
        });
        services.TryAddSingleton<LargeRequests>();
        services.TryAddSingleton<ApiKeyAuthenticator>();
        services.TryAddSingleton<SearchRateLimiter>();
        services.TryAddSingleton<TokenService>();
        services.TryAddSingleton<TenantService>();
        services.TryAddSingleton<AttestationService>();
        services.TryAddSingleton<FunctionService>();
        services.TryAddSingleton<FunctionInvoker>();
        services.TryAddSingleton<WorkerAttestation>();
        services.TryAddSingleton<ReadinessProbe>();
        services.TryAddSingleton<InvocationDriver>();
        services.TryAddSingleton<InvocationService>();
        services.AddHostedService(sp => sp.GetRequiredService<InvocationService>());
        services.TryAddSingleton<ReencryptionSignal>();
        services.TryAddSingleton<ReencryptionWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<ReencryptionWorker>());
        services.AddHostedService<ExpiryPurger>();
        services.TryAddSingleton<FailedLookupAudit>();
        services.AddHostedService(sp => sp.GetRequiredService<FailedLookupAudit>());
        services.TryAddSingleton<KeyShredder>();
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
        return services;
    }
}

/// <summary>
/// The router's store: opened by <see cref="CloisterServer"/>'s BuildAsync once the container is built (opening is I/O,
/// and the store stamps times with the container's clock).
/// </summary>
/// <remarks>The container owns it: disposing the container closes the store and releases the data directory's lock.</remarks>
internal sealed class RouterStore(IOptions<ServerOptions> options, TimeProvider time) : IAsyncDisposable
{
    private SqliteVaultStore? _store;

    public SqliteVaultStore Store => _store ?? throw new InvalidOperationException("The store is opened when the router is built, before anything may use it.");

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        _store = await SqliteVaultStore.OpenAsync(new StoreOptions(settings.DataDirectory) { FullSync = settings.FullSync }, time, cancellationToken);
    }

    public ValueTask DisposeAsync() => _store?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>Checks <see cref="ServerOptions"/> with <see cref="ServerOptions.Validate"/>: the same one-line message <c>serve</c> prints.</summary>
internal sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
        => options.Validate() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}

/// <summary>
/// Makes options from the instance the caller built rather than from a new one: <see cref="ServerOptions"/> is an
/// immutable record, so it cannot be filled in by configure callbacks. Validation runs as for any options.
/// </summary>
internal sealed class GivenOptionsFactory<TOptions>(
    TOptions given,
    IEnumerable<IConfigureOptions<TOptions>> setups,
    IEnumerable<IPostConfigureOptions<TOptions>> postConfigures,
    IEnumerable<IValidateOptions<TOptions>> validations) : OptionsFactory<TOptions>(setups, postConfigures, validations)
    where TOptions : class
{
    protected override TOptions CreateInstance(string name) => given;
}
