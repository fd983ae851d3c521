namespace Cloister.Sandbox.Runner;

/// <summary>Limits of one <see cref="RunnerSession"/>; the defaults are safe.</summary>
public sealed record RunnerSessionOptions
{
    /// <summary>The default maximum frame size, 1 MiB (the manifest's default output size).</summary>
    public const int DefaultMaxFrameBytes = 1024 * 1024;

    /// <summary>The largest frame accepted from or sent to the runner, header excluded. Default 1 MiB.</summary>
    public int MaxFrameBytes { get; init; } = DefaultMaxFrameBytes;

    /// <summary>Wall-clock limit of one invocation, host calls included. Default 10 s (the manifest's default).</summary>
    public TimeSpan InvocationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for the runner's <c>ready</c> frame (loading the handler). Default 10 s.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws when a limit is unusable, so a bad setting stops start-up with a clear message.</summary>
    public void Validate()
    {
        if (MaxFrameBytes is < 64 or > 64 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFrameBytes), MaxFrameBytes, "The maximum frame size must be between 64 bytes and 64 MiB.");
        }

        if (InvocationTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(InvocationTimeout), InvocationTimeout, "The invocation timeout must be positive.");
        }

        if (ReadyTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ReadyTimeout), ReadyTimeout, "The ready timeout must be positive.");
        }
    }
}
