using System.Globalization;
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

    /// <summary>The settings that change what the worker does, as the worker measurement covers them.</summary>
    public IReadOnlyDictionary<string, string> MeasuredConfiguration(ISandboxBackend? backend) => new Dictionary<string, string>
    {
        ["sandbox"] = backend?.Name ?? "none",
        ["unsandboxed"] = Unsandboxed ? "true" : "false",
        ["warm-min"] = Pool.MinPerFunction.ToString(CultureInfo.InvariantCulture),
        ["warm-max"] = Pool.MaxPerFunction.ToString(CultureInfo.InvariantCulture),
        ["warm-idle-seconds"] = ((long)Pool.IdleTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
    };
}
