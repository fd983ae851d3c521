using System.Globalization;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// Reads a live process's memory as an attacker with root on the host would: every readable mapping of
/// /proc/PID/maps, through /proc/PID/mem. Used to prove where key material is (and is not).
/// </summary>
public static class ProcessMemory
{
    private const int ChunkSize = 4 * 1024 * 1024;

    /// <summary>The paths of the files the process has mapped (assemblies, libraries).</summary>
    public static IReadOnlySet<string> MappedFiles(int pid)
        => File.ReadAllLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/maps")
            .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length == 6 && fields[5].StartsWith('/'))
            .Select(fields => fields[5].Trim())
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>For each needle, whether it occurs anywhere in the process's readable memory.</summary>
    public static bool[] Contains(int pid, params byte[][] needles)
    {
        var found = new bool[needles.Length];
        var overlap = needles.Max(n => n.Length) - 1;
        var buffer = new byte[ChunkSize + overlap];
        var id = pid.ToString(CultureInfo.InvariantCulture);
        using var memory = new FileStream($"/proc/{id}/mem", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
        foreach (var (start, end) in ReadableRegions(id))
        {
            var kept = 0;
            for (var position = start; position < end;)
            {
                var want = (int)Math.Min(ChunkSize, end - position);
                int read;
                try
                {
                    memory.Seek(position, SeekOrigin.Begin);
                    read = memory.Read(buffer, kept, want);
                }
                catch (IOException)
                {
                    break; // A mapping that went away or cannot be read (a guard page, [vvar]).
                }

                if (read <= 0)
                {
                    break;
                }

                var window = buffer.AsSpan(0, kept + read);
                for (var i = 0; i < needles.Length; i++)
                {
                    found[i] |= window.IndexOf(needles[i]) >= 0;
                }

                kept = Math.Min(overlap, window.Length);
                window[^kept..].CopyTo(buffer);
                position += read;
            }
        }

        return found;
    }

    private static IEnumerable<(long Start, long End)> ReadableRegions(string pid)
    {
        foreach (var line in File.ReadAllLines($"/proc/{pid}/maps"))
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || fields[1][0] != 'r' || line.EndsWith("[vvar]", StringComparison.Ordinal) || line.EndsWith("[vsyscall]", StringComparison.Ordinal))
            {
                continue;
            }

            var range = fields[0].Split('-');
            yield return (long.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), long.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
    }
}
