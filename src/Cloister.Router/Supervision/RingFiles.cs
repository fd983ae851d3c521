using System.Globalization;
using Cloister.Protocol;

namespace Cloister.Router.Supervision;

/// <summary>
/// Names of the shared-memory ring files between <c>serve</c> and its workers: <c>/dev/shm/cloister-{pid}-{start}-{generation}.ring</c>,
/// one per worker process, named after the serve process that owns it (<see cref="ProcessIdentity"/>). Files of serve processes
/// that no longer exist (a <c>kill -9</c>) are swept at start; the start time tells a dead owner from a live process that
/// reused its pid.
/// </summary>
internal static class RingFiles
{
    private const string Prefix = "cloister-";
    private const string Suffix = ".ring";

    /// <summary>The directory rings live in: /dev/shm (memory, never written back), else the temp directory.</summary>
    public static string Directory { get; } = System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    /// <summary>The ring file for this process's worker number <paramref name="generation"/>.</summary>
    public static string PathFor(int generation)
        => Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"{Prefix}{ProcessIdentity.Current}-{generation}{Suffix}"));

    /// <summary>Deletes ring files whose serve process is gone; returns their paths.</summary>
    public static IReadOnlyList<string> SweepStale()
    {
        var deleted = new List<string>();
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, Prefix + "*" + Suffix))
        {
            var name = Path.GetFileName(file);
            if (!ProcessIdentity.TryParse(name[Prefix.Length..^Suffix.Length], out var pid, out var start, out var generation)
                || pid == Environment.ProcessId)
            {
                continue;
            }

            // cloister-{pid}-{generation}.ring, named by an older Cloister, carries no start time: only the pid can be checked.
            var dead = generation.Length > 0 ? !ProcessIdentity.IsAlive(pid, start) : ProcessIdentity.StartTime(pid) is null;
            if (dead)
            {
                try
                {
                    File.Delete(file);
                    deleted.Add(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Another user's, or being removed right now: leave it.
                }
            }
        }

        return deleted;
    }
}
