using Cloister.Protocol;
using Cloister.Server.Auth;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Http;

/// <summary>
/// Bounds the memory that big requests cost: a request whose body (or the invocation outcome it reads back) exceeds
/// <see cref="ServerOptions.LargeRequestBytes"/> first takes a slot of a router-wide fair gate (at most
/// <see cref="ServerOptions.MaxLargeRequests"/> at once, <see cref="ServerOptions.MaxLargeRequestsPerTenant"/> per tenant,
/// <see cref="ServerOptions.MaxQueuedLargeRequestsPerTenant"/> waiting, 429 beyond), before a byte of it is read, and
/// holds it until its response is written and every frame it sent to the worker is answered (<see cref="RequestHolds"/>).
/// A body of unknown length counts as large.
/// </summary>
internal sealed class LargeRequests(IOptions<ServerOptions> options)
{
    private readonly FairGate _gate = new(
        "large requests (over " + (options.Value.LargeRequestBytes / 1024) + " KiB)",
        options.Value.MaxLargeRequests,
        options.Value.MaxLargeRequestsPerTenant,
        options.Value.MaxQueuedLargeRequestsPerTenant);

    /// <summary>Takes a large-request slot for the caller when <paramref name="bytes"/> (null: unknown) is large; released when the response is done.</summary>
    /// <exception cref="TenantBusyException">The caller's tenant has as many large requests in hand and waiting as it may.</exception>
    public async ValueTask EnterAsync(HttpContext http, long? bytes)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (bytes is { } known && known <= options.Value.LargeRequestBytes)
        {
            return;
        }

        // Admin routes have no tenant: their keys share one turn.
        var caller = ScopeFilter.FindCaller(http);
        var key = caller?.TenantId ?? "admin";
        var ticket = await _gate.EnterAsync(key, http.RequestAborted);
        http.Response.RegisterForDispose(ticket);

        // A frame carrying this request's bytes to the worker keeps the slot until it is answered, also when the caller
        // disconnects first (then the response ends at once): otherwise a loop of send-and-disconnect would have many in flight.
        RequestHolds.Add(ticket);
    }
}
