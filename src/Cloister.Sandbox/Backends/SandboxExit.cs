namespace Cloister.Sandbox.Backends;

/// <summary>Why a sandbox ended.</summary>
public enum SandboxExitReason
{
    /// <summary>The program exited by itself (see the exit code).</summary>
    Exited,

    /// <summary>The host killed it at <see cref="SandboxLimits.WallTimeout"/>.</summary>
    WallTimeout,

    /// <summary>It hit <see cref="SandboxLimits.MemoryMiB"/> (killed, or its allocation failed and it died of it).</summary>
    MemoryLimit,

    /// <summary>It used more than <see cref="SandboxLimits.CpuSeconds"/> of CPU time.</summary>
    CpuLimit,

    /// <summary>It failed after a fork was refused at <see cref="SandboxLimits.Pids"/>.</summary>
    PidsLimit,

    /// <summary>It wrote more than <see cref="SandboxLimits.OutputBytes"/>.</summary>
    OutputLimit,

    /// <summary>Killed on request (<see cref="ISandboxProcess.Kill"/> or disposal).</summary>
    Killed,

    /// <summary>It died of a signal, or the sandbox itself failed.</summary>
    Crashed,
}

/// <summary>How a sandbox ended.</summary>
/// <param name="ExitCode">The exit code the host saw (128 + signal for a signal).</param>
/// <param name="Reason">Why it ended.</param>
/// <param name="StderrTail">The last few KiB of its stderr (and of the backend's own messages), for diagnostics.</param>
public sealed record SandboxExit(int ExitCode, SandboxExitReason Reason, string StderrTail);

/// <summary>The sandbox library's exception base: a broken environment, not an untrusted program's behaviour.</summary>
public class SandboxException : Exception
{
    public SandboxException()
    {
    }

    public SandboxException(string message)
        : base(message)
    {
    }

    public SandboxException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
