using System.Diagnostics;
using Cloister.Hosting.CommandLine;

namespace Cloister.Router.Supervision;

/// <summary>Starts this same <c>cloister</c> executable with other arguments.</summary>
public static class SelfExecutable
{
    /// <summary>A start info for <c>cloister {arguments}</c> with stdout and stderr redirected.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var start = new ProcessStartInfo(Environment.ProcessPath ?? throw new CliException("Cannot find this executable's path."))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // When run as `dotnet cloister.dll`, the child needs the dll path too: the entry assembly's (this code is in a
        // library the executable loads).
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(System.Reflection.Assembly.GetEntryAssembly()?.Location ?? throw new CliException("Cannot find this executable's path."));
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }
}
