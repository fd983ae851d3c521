using System.CommandLine;
using System.Globalization;
using Cloister.Cli.Commands;
using Cloister.Sandbox.Pool;

namespace Cloister.Cli.Worker;

/// <summary>
/// The function and sandbox options: <c>cloister worker</c> uses them, <c>cloister serve</c> takes the same
/// ones and passes them on to the worker it starts.
/// </summary>
/// <remarks>
/// <see cref="ToWorkerArguments"/> touches no sandbox or enclave type, so that the router's process never
/// loads those assemblies; <see cref="ToSettings"/> runs in the worker.
/// </remarks>
internal sealed class FunctionOptions
{
    private readonly Option<bool> _noSandbox = new("--unsafe-no-sandbox") { Description = "DEVELOPMENT ONLY: run functions as plain child processes, with no isolation at all (prints a warning at every start)." };
    private readonly Option<int> _warmMin = new("--warm-min") { Description = "Sandboxes kept started per function version, even when idle (default 0).", DefaultValueFactory = _ => 0 };
    private readonly Option<int> _warmMax = new("--warm-max") { Description = "Most sandboxes per function version; a manifest's limits.concurrency lowers it (default 16).", DefaultValueFactory = _ => 16 };
    private readonly Option<string?> _sandbox = new("--sandbox") { Description = "Sandbox backend for functions: runsc or bwrap (default: runsc when usable, else bwrap).", Hidden = true };
    private readonly Option<string?> _warmIdle = new("--warm-idle") { Description = "How long an idle warm sandbox is kept, e.g. 90s, 5m (default)." };

    public FunctionOptions() => _sandbox.AcceptOnlyFromAmong("runsc", "bwrap");

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_noSandbox);
        command.Options.Add(_sandbox);
        command.Options.Add(_warmMin);
        command.Options.Add(_warmMax);
        command.Options.Add(_warmIdle);
    }

    /// <summary>Whether functions run with no sandbox.</summary>
    public bool Unsandboxed(ParseResult parse) => parse.GetValue(_noSandbox);

    /// <summary>The same options for the worker's command line (validated here, so a typo fails <c>serve</c> at once).</summary>
    public IReadOnlyList<string> ToWorkerArguments(ParseResult parse)
    {
        var arguments = new List<string>();
        if (parse.GetValue(_noSandbox))
        {
            arguments.Add("--unsafe-no-sandbox");
        }

        if (parse.GetValue(_sandbox) is { } backend)
        {
            arguments.AddRange(["--sandbox", backend]);
        }

        var min = parse.GetValue(_warmMin);
        var max = parse.GetValue(_warmMax);
        if (min < 0 || max < 1 || min > max)
        {
            throw new CliException("--warm-min/--warm-max: need 0 <= --warm-min <= --warm-max and --warm-max >= 1.", 2);
        }

        arguments.AddRange(["--warm-min", min.ToString(CultureInfo.InvariantCulture), "--warm-max", max.ToString(CultureInfo.InvariantCulture)]);
        if (parse.GetValue(_warmIdle) is { } idle)
        {
            ServeCommand.ParseDuration(idle, "--warm-idle");
            arguments.AddRange(["--warm-idle", idle]);
        }

        return arguments;
    }

    /// <summary>The settings the worker runs functions with.</summary>
    public FunctionSettings ToSettings(ParseResult parse)
    {
        var settings = new FunctionSettings
        {
            Unsandboxed = parse.GetValue(_noSandbox),
            BackendName = parse.GetValue(_sandbox),
            Pool = new SandboxPoolOptions
            {
                MinPerFunction = parse.GetValue(_warmMin),
                MaxPerFunction = parse.GetValue(_warmMax),
                IdleTimeout = parse.GetValue(_warmIdle) is { } idle ? ServeCommand.ParseDuration(idle, "--warm-idle") : new SandboxPoolOptions().IdleTimeout,
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
}
