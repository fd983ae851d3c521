using Cloister.Protocol;
using Cloister.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cloister.Server.Http;

/// <summary>/healthz (the process answers) and /readyz (the store and the enclave worker answer).</summary>
internal static class HealthEndpoints
{
    public static void MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => TypedResults.Text("ok")).WithTags("Health").WithName("GetHealth").WithSummary("Liveness: the process answers")
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
        routes.MapGet("/readyz", ReadyAsync).WithTags("Health").WithName("GetReadiness").WithSummary("Readiness: the store and the enclave worker answer")
            .Produces<string>(StatusCodes.Status200OK, "text/plain").ProducesProblems(StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>200 <c>ready</c>, or 503 <c>not-ready</c> whose <c>components</c> name what did not answer ("store", "worker").</summary>
    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> ReadyAsync(ReadinessProbe probe, CancellationToken cancellationToken)
    {
        var missing = await probe.NotAnsweringAsync(cancellationToken);
        if (missing.Length == 0)
        {
            return TypedResults.Text("ready");
        }

        return Problems.Create(
            StatusCodes.Status503ServiceUnavailable,
            "not-ready",
            "Not ready",
            $"Not answering: {string.Join(", ", missing)}.",
            new Dictionary<string, object?> { ["components"] = missing });
    }
}

/// <summary>Asks the store and the enclave worker whether they answer (for /readyz).</summary>
internal sealed class ReadinessProbe(ITenantStore store, EnclaveClient enclave)
{
    /// <summary>How long the probe waits for the worker's answer: far above a ping's round trip, below a probe's usual timeout.</summary>
    internal static readonly TimeSpan WorkerTimeout = TimeSpan.FromSeconds(2);

    /// <summary>What did not answer: "store", "worker", both or neither.</summary>
    public async Task<string[]> NotAnsweringAsync(CancellationToken cancellationToken)
    {
        var worker = enclave.PingAsync(WorkerTimeout, cancellationToken);
        var storeReady = await StoreAnswersAsync(cancellationToken);
        var workerReady = (await worker).Answered;
        return [.. storeReady ? [] : new[] { "store" }, .. workerReady ? [] : new[] { "worker" }];
    }

    private async Task<bool> StoreAnswersAsync(CancellationToken cancellationToken)
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
