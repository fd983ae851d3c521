namespace Cloister.Hosting.CommandLine;

/// <summary>A usage or environment problem reported as one line with a non-zero exit.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    /// <summary>The process's exit code (2 for usage errors).</summary>
    public int ExitCode { get; } = exitCode;
}
