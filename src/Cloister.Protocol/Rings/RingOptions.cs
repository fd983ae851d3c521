namespace Cloister.Protocol.Rings;

/// <summary>
/// Sizes and timing of the rings in the shared memory file. The router chooses them in
/// <see cref="RingFrameTransport.Create"/> and writes them into the file's header; the worker reads them from there.
/// </summary>
public sealed record RingOptions
{
    /// <summary>Bytes per slot (a message larger than one slot spans several); a multiple of 64, at least 64. Default 4096.</summary>
    public int SlotSize { get; init; } = 4096;

    /// <summary>Slots per ring (a power of two, at least 2). Default 256 (1 MiB per ring with 4 KiB slots).</summary>
    public int SlotCount { get; init; } = 256;

    /// <summary>
    /// The largest message either side sends (<see cref="FrameLimits.MaxFrameBytes"/>, 256 MiB, by default). A larger
    /// request or response fails its own request with <see cref="FrameTooLargeException"/>; a larger length found in the
    /// ring is corruption.
    /// </summary>
    public int MaxMessageBytes { get; init; } = FrameLimits.MaxFrameBytes;

    /// <summary>
    /// How long a waiting reader or writer spins before it sleeps on the futex. Spinning costs CPU while
    /// idle-but-busy; sleeping costs a wake-up syscall (a few microseconds) on the peer's side. Default 50 µs.
    /// </summary>
    public int SpinMicroseconds { get; init; } = 50;

    /// <summary>
    /// How many <see cref="FrameLane.Request"/> frames the worker handles at once (default 64). The router never has
    /// more in the worker: further senders wait on the router's side, so the worker keeps reading the ring.
    /// </summary>
    public int MaxConcurrency { get; init; } = FrameLanes.DefaultRequestSlots;

    /// <summary>
    /// How many <see cref="FrameLane.Invocation"/> frames the worker handles at once (default 64): a frame of a running
    /// invocation may wait for its sandbox for the function's whole wall timeout, and holds one of these, never one of
    /// <see cref="MaxConcurrency"/>. Health pings (<see cref="FrameLane.Control"/>) hold neither.
    /// </summary>
    public int MaxInvocations { get; init; } = FrameLanes.DefaultInvocationSlots;

    /// <summary>
    /// Router side: when no other response is waiting, run the caller's continuation on the response reader thread
    /// (until its first real await) instead of the thread pool. Saves a thread-pool hop per round trip (see
    /// docs/benchmarks.md), but a continuation that works synchronously for long — a SQLite commit, say — delays every
    /// other response meanwhile, and one that blocks on another send deadlocks. Default false; for callers that await
    /// and do little else (benchmarks, a dedicated client).
    /// </summary>
    public bool InlineCompletions { get; init; }

    /// <summary>
    /// How long one futex sleep lasts before the sleeper re-checks its peer's liveness; it also bounds the delay a
    /// lost wake-up could cause. Tests raise it to prove wake-ups are not lost.
    /// </summary>
    internal int SleepMilliseconds { get; init; } = 100;

    internal void Validate()
    {
        if (SlotSize < 64 || SlotSize % 64 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SlotSize), "SlotSize must be a multiple of 64 and at least 64.");
        }

        if (SlotCount < 2 || (SlotCount & (SlotCount - 1)) != 0 || (long)SlotSize * SlotCount > int.MaxValue / 4)
        {
            throw new ArgumentOutOfRangeException(nameof(SlotCount), "SlotCount must be a power of two, at least 2, and the ring at most 512 MiB.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(MaxMessageBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(SpinMicroseconds);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInvocations, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(SleepMilliseconds, 1);
    }
}
