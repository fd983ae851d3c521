namespace Cloister.Protocol;

/// <summary>
/// Which share of the worker's attention a frame uses (docs/design/rings.md, "Lanes"). Short work never waits behind
/// long work: a running invocation holds an invocation slot, not one that token operations need, and a health ping
/// holds none at all, so it is answered however busy the worker is.
/// </summary>
public enum FrameLane
{
    /// <summary>Token and key operations, attestation, sealed token requests: short, bounded work.</summary>
    Request = 0,

    /// <summary>The frames of a function invocation (invoke, continue): each may wait for the sandbox as long as the function's wall timeout.</summary>
    Invocation = 1,

    /// <summary>The health ping: answered at once, never queued behind other work.</summary>
    Control = 2,
}

/// <summary>Which lane a request travels in.</summary>
public static class FrameLanes
{
    /// <summary>
    /// How many <see cref="FrameLane.Request"/> frames a worker serves at once by default (the ring's
    /// <c>MaxConcurrency</c>, and the router's gate in front of it).
    /// </summary>
    public const int DefaultRequestSlots = 64;

    /// <summary>How many invocation frames (so: running invocations) a worker serves at once by default (the ring's <c>MaxInvocations</c>, and the router's invocation gate).</summary>
    public const int DefaultInvocationSlots = 64;

    /// <summary>The lane of <paramref name="request"/>.</summary>
    public static FrameLane Of(EnclaveRequest request) => request switch
    {
        WorkerHealthRequest => FrameLane.Control,
        InvokeFunctionRequest or ContinueInvocationRequest => FrameLane.Invocation,
        _ => FrameLane.Request,
    };
}
