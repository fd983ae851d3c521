using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Pool;

namespace Cloister.Cli;

/// <summary>How the enclave runs customer functions (the worker's, and the in-process build's, settings).</summary>
internal sealed record FunctionSettings
{
    /// <summary>Run handlers as plain child processes (development only; <c>--unsafe-no-sandbox</c>).</summary>
    public bool Unsandboxed { get; init; }

    /// <summary>A specific backend (<c>runsc</c> or <c>bwrap</c>) instead of the best one found; tests run each.</summary>
    public string? BackendName { get; init; }

    /// <summary>The warm pool's sizes and idle timeout.</summary>
    public SandboxPoolOptions Pool { get; init; } = new();

    /// <summary>The settings that change what the worker is, as the worker measurement covers them.</summary>
    public string Describe(ISandboxBackend? backend)
        => $"backend={backend?.Name ?? "none"};unsandboxed={Unsandboxed};warm-min={Pool.MinPerFunction};warm-max={Pool.MaxPerFunction};warm-idle={(long)Pool.IdleTimeout.TotalSeconds}s";
}
