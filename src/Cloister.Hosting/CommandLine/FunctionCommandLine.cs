using System.CommandLine;
using System.Globalization;

namespace Cloister.Hosting.CommandLine;

/// <summary>The function and sandbox options as given: <see cref="FunctionCommandLine.Read"/> checked them, the worker turns them into its settings.</summary>
/// <param name="Unsandboxed"><c>--unsafe-no-sandbox</c>.</param>
/// <param name="Backend"><c>--sandbox</c> (runsc or bwrap), or null for the best one found.</param>
/// <param name="WarmMin"><c>--warm-min</c>.</param>
/// <param name="WarmMax"><c>--warm-max</c>.</param>
/// <param name="WarmIdle"><c>--warm-idle</c>, or null for the default.</param>
public sealed record FunctionArguments(bool Unsandboxed, string? Backend, int WarmMin, int WarmMax, TimeSpan? WarmIdle);

/// <summary>
/// The function and sandbox options: <c>cloister worker</c> uses them, <c>cloister serve</c> takes the same ones and
/// passes them on to the worker it starts (<see cref="ToWorkerArguments"/>). No sandbox or enclave type is in here:
/// the router's assembly cannot reference them.
/// </summary>
public sealed class FunctionCommandLine
{
    private readonly Option<bool> _noSandbox = new("--unsafe-no-sandbox") { Description = "DEVELOPMENT ONLY: run functions as plain child processes, with no isolation at all (prints a warning at every start)." };
    private readonly Option<int> _warmMin = new("--warm-min") { Description = "Sandboxes kept started per function version, even when idle (default 0).", DefaultValueFactory = _ => 0 };
    private readonly Option<int> _warmMax = new("--warm-max") { Description = "Most sandboxes per function version; a manifest's limits.concurrency lowers it (default 16).", DefaultValueFactory = _ => 16 };
    private readonly Option<string?> _sandbox = new("--sandbox") { Description = "Sandbox backend for functions: runsc or bwrap (default: runsc when usable, else bwrap).", Hidden = true };
    private readonly Option<string?> _warmIdle = new("--warm-idle") { Description = "How long an idle warm sandbox is kept, e.g. 90s, 5m (default)." };

    public FunctionCommandLine() => _sandbox.AcceptOnlyFromAmong("runsc", "bwrap");

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(_noSandbox);
        command.Options.Add(_sandbox);
        command.Options.Add(_warmMin);
        command.Options.Add(_warmMax);
        command.Options.Add(_warmIdle);
    }

    /// <summary>The options given, checked (so that a typo fails <c>serve</c> at once, before any child starts).</summary>
    /// <exception cref="CliException">The warm-pool sizes or idle time are unusable (exit code 2).</exception>
    public FunctionArguments Read(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var min = parse.GetValue(_warmMin);
        var max = parse.GetValue(_warmMax);
        if (min < 0 || max < 1 || min > max)
        {
            throw new CliException("--warm-min/--warm-max: need 0 <= --warm-min <= --warm-max and --warm-max >= 1.", 2);
        }

        var idle = parse.GetValue(_warmIdle) is { } text ? Durations.Parse(text, "--warm-idle") : (TimeSpan?)null;
        return new FunctionArguments(parse.GetValue(_noSandbox), parse.GetValue(_sandbox), min, max, idle);
    }

    /// <summary>The same options for the worker's command line.</summary>
    public IReadOnlyList<string> ToWorkerArguments(ParseResult parse)
    {
        var given = Read(parse);
        var arguments = new List<string>();
        if (given.Unsandboxed)
        {
            arguments.Add("--unsafe-no-sandbox");
        }

        if (given.Backend is { } backend)
        {
            arguments.AddRange(["--sandbox", backend]);
        }

        arguments.AddRange(["--warm-min", given.WarmMin.ToString(CultureInfo.InvariantCulture), "--warm-max", given.WarmMax.ToString(CultureInfo.InvariantCulture)]);
        if (given.WarmIdle is not null)
        {
            arguments.AddRange(["--warm-idle", parse.GetValue(_warmIdle)!]);
        }

        return arguments;
    }
}
