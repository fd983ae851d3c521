using System.CommandLine;
using Cloister.Broker;
using Cloister.Cli.Commands;
using Cloister.Router;
using Cloister.Worker;

namespace Cloister.Cli;

/// <summary>
/// The <c>cloister</c> command tree (Program.cs parses and runs it; tests walk it): the client commands are here, the
/// three processes' commands come from their host projects (serve: Cloister.Router, worker: Cloister.Worker,
/// keybroker: Cloister.Broker).
/// </summary>
internal static class CliCommands
{
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("Cloister: a self-hostable token vault and confidential compute platform.");
        root.Options.Add(GlobalOptions.Url);
        root.Options.Add(GlobalOptions.Key);
        root.Options.Add(GlobalOptions.DataDir);
        root.Options.Add(GlobalOptions.Json);
        root.Subcommands.Add(ServeCommand.Build());
        root.Subcommands.Add(WorkerCommand.Build());
        root.Subcommands.Add(TokenCommands.Build());
        root.Subcommands.Add(FunctionCommands.Build());
        root.Subcommands.Add(FunctionCommands.BuildInvocations());
        foreach (var command in AdminCommands.Build())
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(AuditCommands.Build());
        root.Subcommands.Add(AttestCommand.Build());
        root.Subcommands.Add(KeyBrokerCommand.Build());
        root.Subcommands.Add(BenchCommand.Build());
        return root;
    }
}
