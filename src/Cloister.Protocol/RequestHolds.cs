namespace Cloister.Protocol;

/// <summary>
/// The gate slots one incoming request holds (a large-request slot, say) that must stay taken as long as any frame it
/// sent to the worker is unanswered, also after the request itself ended because its caller gave up: otherwise a caller
/// that sends and disconnects in a loop would have many frames in flight on one slot. The host begins a scope per
/// request (<see cref="Begin"/>); whoever takes a slot for the request adds it (<see cref="Add"/>); the enclave client
/// holds every slot of the scope for each request-lane frame until it is answered.
/// </summary>
public sealed class RequestHolds
{
    private static readonly AsyncLocal<RequestHolds?> Scope = new();

    private readonly Lock _lock = new();
    private readonly List<FairGate.Ticket> _tickets = [];

    /// <summary>The current request's scope, or null outside one.</summary>
    public static RequestHolds? Current => Scope.Value;

    /// <summary>Starts a scope for the work that follows in this async flow; disposing it ends the scope (not the holds).</summary>
    public static IDisposable Begin()
    {
        var previous = Scope.Value;
        Scope.Value = new RequestHolds();
        return new Restore(previous);
    }

    /// <summary>Adds a slot the current request holds; nothing outside a scope.</summary>
    public static void Add(FairGate.Ticket ticket)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        if (Scope.Value is { } holds)
        {
            lock (holds._lock)
            {
                holds._tickets.Add(ticket);
            }
        }
    }

    /// <summary>A hold on each slot of the current scope still taken; dispose each when the frame is answered.</summary>
    internal static List<IDisposable> HoldAll()
    {
        List<IDisposable> taken = [];
        if (Scope.Value is { } holds)
        {
            lock (holds._lock)
            {
                foreach (var ticket in holds._tickets)
                {
                    if (ticket.Hold() is { } hold)
                    {
                        taken.Add(hold);
                    }
                }
            }
        }

        return taken;
    }

    private sealed class Restore(RequestHolds? previous) : IDisposable
    {
        public void Dispose() => Scope.Value = previous;
    }
}
