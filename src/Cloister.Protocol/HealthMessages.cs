using System.Diagnostics.CodeAnalysis;

namespace Cloister.Protocol;

/// <summary>
/// The router's health ping (readiness, the supervisor's hang check). The worker answers it at once with a
/// <see cref="WorkerHealthResponse"/>, touching no keys and no sandboxes; it names no tenant
/// (<see cref="EnclaveRequest.TenantId"/> is empty).
/// </summary>
public sealed record WorkerHealthRequest : EnclaveRequest
{
    /// <summary>A ping for no tenant.</summary>
    [SetsRequiredMembers]
    public WorkerHealthRequest() => TenantId = "";
}

/// <summary>The worker answers.</summary>
/// <param name="Attested">Whether it has an attested identity (an HPKE key pair and an evidence source).</param>
public sealed record WorkerHealthResponse(bool Attested) : EnclaveResponse
{
    /// <summary>The worker's counts, which the router exports at <c>/metrics</c> (docs/metrics.md); null from a worker that keeps none.</summary>
    public WorkerStatistics? Statistics { get; init; }
}

/// <summary>
/// What a worker counts about itself, sent in every health answer so that the router, which operators scrape, can report
/// it. Numbers only: no tenant, function, token or key is named, so nothing here can carry a value. The counters are
/// cumulative since the worker started (a restarted worker starts again from zero, which Prometheus reads as a reset).
/// </summary>
/// <param name="IdleSandboxes">Warm sandboxes waiting in the pool, all function versions together.</param>
/// <param name="LeasedSandboxes">Sandboxes leased to running invocations.</param>
/// <param name="ColdStarts">Invocations that found no warm sandbox and waited for one to start.</param>
/// <param name="KeyReleasesGranted">Key releases the key broker granted to this worker.</param>
/// <param name="KeyReleasesRefused">Key releases the key broker refused (attestation, policy, shredded keys).</param>
/// <param name="KeyReleasesFailed">Key releases that got no answer (broker unreachable, no worker identity, keys that did not open).</param>
public sealed record WorkerStatistics(
    int IdleSandboxes,
    int LeasedSandboxes,
    long ColdStarts,
    long KeyReleasesGranted,
    long KeyReleasesRefused,
    long KeyReleasesFailed);

/// <summary>The outcome of one health ping.</summary>
/// <param name="Answer">The worker's answer; null when it gave none.</param>
/// <param name="Failure">Why there is no answer: <c>timeout</c>, <c>unavailable</c> (no worker, or its transport failed) or <c>unexpected-response</c>.</param>
public readonly record struct WorkerPing(WorkerHealthResponse? Answer, string? Failure)
{
    /// <summary>Whether the worker answered the ping.</summary>
    public bool Answered => Answer is not null;
}

/// <summary>Sends <see cref="WorkerHealthRequest"/> over a transport and waits a bounded time for the answer.</summary>
public static class WorkerHealth
{
    private static readonly byte[] Ping = Frames.Enclave.Encode(new WorkerHealthRequest());

    /// <summary>Pings the worker behind <paramref name="transport"/>; never waits longer than <paramref name="timeout"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<WorkerPing> PingAsync(IFrameTransport transport, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            // In the control lane: it takes no slot of the worker's, so it never waits behind other work. On the thread
            // pool, and waited for with the deadline: a ring send blocks its thread while the request ring is full, which
            // is exactly what a hung worker leaves behind.
            var frame = await Task.Run(() => transport.SendAsync(Ping, FrameLane.Control, deadline.Token).AsTask(), deadline.Token).WaitAsync(deadline.Token).ConfigureAwait(false);
            return Frames.Enclave.DecodeResponse(frame) is WorkerHealthResponse answer
                ? new WorkerPing(answer, null)
                : new WorkerPing(null, "unexpected-response");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new WorkerPing(null, "timeout");
        }
        catch (TransportUnavailableException)
        {
            return new WorkerPing(null, "unavailable");
        }
    }
}
