using System.CommandLine;

namespace Cloister.Hosting.CommandLine;

/// <summary>What the host commands (<c>serve</c>, <c>worker</c>, <c>keybroker</c>) share with the rest of the <c>cloister</c> command.</summary>
public static class HostCommand
{
    /// <summary>The data directory, an option of every command (recursive from the root; the dispatcher adds it).</summary>
    public static readonly Option<string?> DataDir = new("--data-dir") { Description = "Data directory (default: $CLOISTER_DATA_DIR, then ./.cloister).", Recursive = true };

    /// <summary>The data directory: <c>--data-dir</c>, then <c>$CLOISTER_DATA_DIR</c>, then <c>./.cloister</c>.</summary>
    public static string ResolveDataDir(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.GetValue(DataDir) ?? Environment.GetEnvironmentVariable("CLOISTER_DATA_DIR") ?? ".cloister";
    }

    /// <summary>Runs <paramref name="body"/> as <paramref name="command"/>'s action; a <see cref="CliException"/> becomes one line on stderr and its exit code.</summary>
    public static void SetHostAction(this Command command, Func<ParseResult, CancellationToken, Task<int>> body)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(body);
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                return await body(parse, cancellationToken);
            }
            catch (CliException e)
            {
                return Fail(e.Message, e.ExitCode);
            }
        });
    }

    /// <summary>Prints <c>cloister: MESSAGE</c> on stderr and returns <paramref name="exitCode"/>.</summary>
    public static int Fail(string message, int exitCode = 1)
    {
        Console.Error.WriteLine($"cloister: {message}");
        return exitCode;
    }
}
