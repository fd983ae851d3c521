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

    /// <summary>The largest message either side accepts; a larger length in the ring is treated as corruption. Default 64 MiB.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// How long a waiting reader or writer spins before it sleeps on the futex. Spinning costs CPU while
    /// idle-but-busy; sleeping costs a wake-up syscall (a few microseconds) on the peer's side. Default 50 µs.
    /// </summary>
    public int SpinMicroseconds { get; init; } = 50;

    /// <summary>How many requests the worker handles at once; more wait in the ring (backpressure). Default 64.</summary>
    public int MaxConcurrency { get; init; } = 64;

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
        ArgumentOutOfRangeException.ThrowIfLessThan(SleepMilliseconds, 1);
    }
}
