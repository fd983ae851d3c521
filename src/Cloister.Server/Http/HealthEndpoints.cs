using Cloister.Protocol;
using Cloister.Storage;

namespace Cloister.Server.Http;

/// <summary>/healthz (the process answers) and /readyz (the store and the enclave worker answer).</summary>
internal static class HealthEndpoints
{
    /// <summary>How long /readyz waits for the worker's answer: far above a ping's round trip, below a probe's usual timeout.</summary>
    internal static readonly TimeSpan WorkerTimeout = TimeSpan.FromSeconds(2);

    public static void MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => TypedResults.Text("ok")).WithTags("Health");
        routes.MapGet("/readyz", ReadyAsync).WithTags("Health");
    }

    /// <summary>200 <c>ready</c>, or 503 <c>not-ready</c> whose <c>components</c> name what did not answer ("store", "worker").</summary>
    private static async Task<IResult> ReadyAsync(ITenantStore store, EnclaveClient enclave, CancellationToken cancellationToken)
    {
        var worker = enclave.PingAsync(WorkerTimeout, cancellationToken);
        var storeReady = await StoreAnswersAsync(store, cancellationToken);
        var workerReady = (await worker).Answered;
        if (storeReady && workerReady)
        {
            return TypedResults.Text("ready");
        }

        string[] components = [.. storeReady ? [] : new[] { "store" }, .. workerReady ? [] : new[] { "worker" }];
        return Problems.Create(
            StatusCodes.Status503ServiceUnavailable,
            "not-ready",
            "Not ready",
            $"Not answering: {string.Join(", ", components)}.",
            new Dictionary<string, object?> { ["components"] = components });
    }

    private static async Task<bool> StoreAnswersAsync(ITenantStore store, CancellationToken cancellationToken)
    {
        try
        {
            await store.GetTenantAsync("ten_readiness", cancellationToken);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return false;
        }
    }
}
