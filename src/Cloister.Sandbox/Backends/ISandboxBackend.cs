namespace Cloister.Sandbox.Backends;

/// <summary>Starts isolated processes. Implementations: <see cref="RunscBackend"/> (gVisor) and <see cref="BubblewrapBackend"/>.</summary>
public interface ISandboxBackend
{
    /// <summary>Short name, <c>runsc</c> or <c>bwrap</c>.</summary>
    string Name { get; }

    /// <summary>Starts <paramref name="spec"/> in a new sandbox; the wall timeout starts now.</summary>
    /// <remarks>The caller owns the returned process and must dispose it, which kills the sandbox if it still runs and removes its host state.</remarks>
    Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken ct);
}
