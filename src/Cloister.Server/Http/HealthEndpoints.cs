using Cloister.Storage;

namespace Cloister.Server.Http;

/// <summary>/healthz (the process answers) and /readyz (the store answers).</summary>
internal static class HealthEndpoints
{
    public static void MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => TypedResults.Text("ok")).WithTags("Health");
        routes.MapGet("/readyz", async (IVaultStore store, CancellationToken cancellationToken) =>
        {
            try
            {
                await store.GetTenantAsync("ten_readiness", cancellationToken);
                return (IResult)TypedResults.Text("ready");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Problems.Create(StatusCodes.Status503ServiceUnavailable, "not-ready", "Not ready", "The store is not answering.");
            }
        }).WithTags("Health");
    }
}
