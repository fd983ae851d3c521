using System.Diagnostics;

namespace Cloister.Cli.Supervision;

/// <summary>Starts this same <c>cloister</c> executable with other arguments.</summary>
internal static class SelfExecutable
{
    /// <summary>A start info for <c>cloister {arguments}</c> with stdout and stderr redirected.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? throw new CliException("Cannot find this executable's path."))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // When run as `dotnet cloister.dll`, the child needs the dll path too.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(SelfExecutable).Assembly.Location);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }
}
