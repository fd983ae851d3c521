using System.Globalization;

namespace Cloister.Cli.Supervision;

/// <summary>
/// Names of the shared-memory ring files between <c>serve</c> and its workers: <c>/dev/shm/cloister-{pid}-{generation}.ring</c>,
/// one per worker process. Files of serve processes that no longer exist (a <c>kill -9</c>) are swept at start.
/// </summary>
internal static class RingFiles
{
    private const string Prefix = "cloister-";
    private const string Suffix = ".ring";

    /// <summary>The directory rings live in: /dev/shm (memory, never written back), else the temp directory.</summary>
    public static string Directory { get; } = System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    /// <summary>The ring file for this process's worker number <paramref name="generation"/>.</summary>
    public static string PathFor(int generation)
        => Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Environment.ProcessId}-{generation}{Suffix}"));

    /// <summary>Deletes ring files whose serve process is gone.</summary>
    public static void SweepStale()
    {
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, Prefix + "*" + Suffix))
        {
            var name = Path.GetFileName(file);
            var dash = name.IndexOf('-', Prefix.Length);
            if (dash > 0
                && int.TryParse(name.AsSpan(Prefix.Length, dash - Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && pid != Environment.ProcessId
                && !System.IO.Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}"))
            {
                try
                {
                    File.Delete(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Another user's, or being removed right now: leave it.
                }
            }
        }
    }
}
