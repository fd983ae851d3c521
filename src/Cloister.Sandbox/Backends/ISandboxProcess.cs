namespace Cloister.Sandbox.Backends;

/// <summary>One running sandbox. Disposing it kills whatever still runs and removes its host state.</summary>
public interface ISandboxProcess : IAsyncDisposable
{
    /// <summary>The sandboxed program's stdin. Owned by this object.</summary>
    Stream Input { get; }

    /// <summary>
    /// The sandboxed program's stdout, capped at <see cref="SandboxLimits.OutputBytes"/>: once the cap
    /// is reached the sandbox is killed, the stream ends (reads return 0) and the exit reason is
    /// <see cref="SandboxExitReason.OutputLimit"/>. Owned by this object.
    /// </summary>
    Stream Output { get; }

    /// <summary>Completes when the sandbox has ended, with why.</summary>
    Task<SandboxExit> WaitAsync();

    /// <summary>Kills the whole sandbox now; the exit reason becomes <see cref="SandboxExitReason.Killed"/> unless already decided.</summary>
    void Kill();
}
