using System.CommandLine;
using Cloister.Cli;
using Cloister.Hosting.Children;

// A child of 'serve' exits when serve is gone (its stdin, a pipe serve holds, reaches EOF).
ParentWatch.StartIfSupervised();

var root = CliCommands.CreateRoot();
var parse = root.Parse(args.Length == 0 ? ["--help"] : args);
if (parse.Errors.Count > 0)
{
    // One line, not a page of help: the usage is one --help away. An unrecognized word explains more than
    // the "required command was not provided" that comes with it.
    var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
    var message = error.Message
        .Replace("System.Nullable`1[System.Int64]", "integer", StringComparison.Ordinal)
        .Replace("System.Int32", "integer", StringComparison.Ordinal)
        .TrimEnd('.');
    var command = string.Join(' ', ["cloister", .. CommandPath(parse.CommandResult)]);
    return CliRunner.Fail($"{message} (see '{command} --help')", 2);
}

// SIGTERM cancels the command; the worker then kills its sandboxes and serve stops its children, which can take
// longer than System.CommandLine's default 2 s before it gives up on the command.
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });

static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
{
    var names = new Stack<string>();
    for (System.CommandLine.Parsing.SymbolResult? r = result; r is System.CommandLine.Parsing.CommandResult c && c.Parent is not null; r = r.Parent)
    {
        names.Push(c.Command.Name);
    }

    return names;
}
