using Cloister.Protocol;
using Cloister.Server.Auth;

namespace Cloister.Server.Observability;

/// <summary>
/// <c>GET /metrics</c>: the Prometheus text exposition of the router's instruments, for an admin key only
/// (docs/metrics.md says why). Each scrape first pings the enclave worker over the control lane, so the worker's pool
/// and key-release counts in it are as of the scrape.
/// </summary>
internal static class MetricsEndpoint
{
    public const string Path = "/metrics";

    /// <summary>How long a scrape waits for the worker's health answer (then it reports <c>cloister_worker_up 0</c>), well under Prometheus's default 10 s scrape timeout.</summary>
    internal static readonly TimeSpan WorkerTimeout = TimeSpan.FromSeconds(2);

    public static void MapMetricsEndpoint(this IEndpointRouteBuilder routes)
        => routes.MapPrometheusScrapingEndpoint(Path, meterProvider: null, configureBranchedPipeline: branch => branch.Use(AuthorizeAndPingAsync), optionsName: null);

    private static async Task AuthorizeAndPingAsync(HttpContext http, RequestDelegate next)
    {
        // The exporter's endpoint is a plain request pipeline, which endpoint filters (RequireScope) do not reach: the
        // same check runs here, before anything is collected.
        if (await ScopeFilter.AuthorizeAsync(http, [Scopes.Admin]) is { } refused)
        {
            await refused.ExecuteAsync(http);
            return;
        }

        var ping = await http.RequestServices.GetRequiredService<EnclaveClient>().PingAsync(WorkerTimeout, http.RequestAborted);
        http.RequestServices.GetRequiredService<RouterMetrics>().Observe(ping);
        await next(http);
    }
}
