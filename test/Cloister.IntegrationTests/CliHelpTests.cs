using System.CommandLine;
using Cloister.Cli;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>Every command of <c>cloister</c> is listed by its parent and explains itself with --help (exit 0).</summary>
public sealed class CliHelpTests
{
    public static TheoryData<string> CommandPaths()
    {
        var paths = new TheoryData<string>();
        foreach (var (path, _) in Walk(CliCommands.CreateRoot(), []))
        {
            paths.Add(string.Join(' ', path));
        }

        return paths;
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void Help_OfEveryCommand_PrintsUsageAndDescription_ListsItsSubcommands_AndExits0(string path)
    {
        var root = CliCommands.CreateRoot();
        var words = path.Length == 0 ? [] : path.Split(' ');
        var command = Walk(root, []).Single(c => string.Join(' ', c.Path) == path).Command;
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = root.Parse([.. words, "--help"]).Invoke(new InvocationConfiguration { Output = output, Error = error });

        Assert.Equal(0, exitCode);
        Assert.Equal("", error.ToString());
        var help = output.ToString();
        Assert.False(string.IsNullOrWhiteSpace(command.Description), $"'cloister {path}' has no description");
        Assert.Contains(command.Description!, help, StringComparison.Ordinal);
        Assert.Contains($"{root.Name} {path}".TrimEnd(), help, StringComparison.Ordinal);
        Assert.False(command.Hidden, $"'cloister {path}' is hidden: its parent's help does not list it");
        foreach (var subcommand in command.Subcommands)
        {
            Assert.Contains($"  {subcommand.Name} ", help, StringComparison.Ordinal);
        }
    }

    /// <summary>The real executable, as the README's reader runs it: the remote worker of the README is documented.</summary>
    [Fact]
    public async Task Help_OfTheExecutable_ListsTheWorker_AndWorkerHelpDocumentsListen()
    {
        var root = await CloisterProcess.RunAsync("--help");
        var worker = await CloisterProcess.RunAsync("worker", "--help");

        Assert.Equal(0, root.ExitCode);
        Assert.Contains("  worker ", root.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, worker.ExitCode);
        Assert.Contains("--listen", worker.Stdout, StringComparison.Ordinal);
        Assert.Contains("--token-file", worker.Stdout, StringComparison.Ordinal);
    }

    private static IEnumerable<(string[] Path, Command Command)> Walk(Command command, string[] path)
    {
        yield return (path, command);
        foreach (var subcommand in command.Subcommands)
        {
            foreach (var found in Walk(subcommand, [.. path, subcommand.Name]))
            {
                yield return found;
            }
        }
    }
}
