using System.Globalization;
using Cloister.Hosting.CommandLine;
using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Pool;

namespace Cloister.Worker;

/// <summary>How the enclave runs customer functions (the worker's, and the in-process build's, settings).</summary>
public sealed record FunctionSettings
{
    /// <summary>Run handlers as plain child processes (development only; <c>--unsafe-no-sandbox</c>).</summary>
    public bool Unsandboxed { get; init; }

    /// <summary>A specific backend (<c>runsc</c> or <c>bwrap</c>) instead of the best one found; tests run each.</summary>
    public string? BackendName { get; init; }

    /// <summary>The warm pool's sizes and idle timeout.</summary>
    public SandboxPoolOptions Pool { get; init; } = new();

    /// <summary>The settings the command-line options (<see cref="FunctionCommandLine"/>) give.</summary>
    /// <exception cref="CliException">The pool's sizes and idle time are unusable together (exit code 2).</exception>
    public static FunctionSettings From(FunctionArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var settings = new FunctionSettings
        {
            Unsandboxed = arguments.Unsandboxed,
            BackendName = arguments.Backend,
            Pool = new SandboxPoolOptions
            {
                MinPerFunction = arguments.WarmMin,
                MaxPerFunction = arguments.WarmMax,
                IdleTimeout = arguments.WarmIdle ?? new SandboxPoolOptions().IdleTimeout,
            },
        };
        try
        {
            settings.Pool.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliException($"--warm-min/--warm-max/--warm-idle: {e.Message}", 2);
        }

        return settings;
    }

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
