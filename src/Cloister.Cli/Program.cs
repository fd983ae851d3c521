using System.CommandLine;
using Cloister.Cli;
using Cloister.Cli.Commands;

var root = new RootCommand("Cloister: a self-hostable token vault and confidential compute platform.");
root.Options.Add(GlobalOptions.Url);
root.Options.Add(GlobalOptions.Key);
root.Options.Add(GlobalOptions.DataDir);
root.Options.Add(GlobalOptions.Json);
root.Subcommands.Add(ServeCommand.Build());
root.Subcommands.Add(TokenCommands.Build());
foreach (var command in AdminCommands.Build())
{
    root.Subcommands.Add(command);
}

root.Subcommands.Add(AuditCommands.Build());
root.Subcommands.Add(BenchCommand.Build());
return await root.Parse(args).InvokeAsync();
