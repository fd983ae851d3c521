using System.Globalization;

namespace Cloister.Protocol;

/// <summary>
/// A process as <c>PID-START</c>: its pid and its start time (clock ticks after boot, field 22 of <c>/proc/PID/stat</c>). The
/// pair names one process per boot even where pids are reused within minutes (pid_max may be 32768), so a name that carries it
/// tells a dead process's leftovers (ring files, sandbox cgroups and bundles) from a live one's.
/// </summary>
public static class ProcessIdentity
{
    /// <summary>This process, as <c>PID-START</c>.</summary>
    public static string Current { get; } = string.Create(
        CultureInfo.InvariantCulture,
        $"{Environment.ProcessId}-{StartTime(Environment.ProcessId) ?? throw new InvalidOperationException("Cannot read this process's start time from /proc/self/stat.")}");

    /// <summary>Reads <c>PID-START</c> at the start of <paramref name="text"/>; false when it does not start with one.</summary>
    /// <param name="text">The text, e.g. <c>1234-56789</c> or <c>1234-56789-rest</c>.</param>
    /// <param name="pid">The pid.</param>
    /// <param name="startTime">The start time.</param>
    /// <param name="rest">What follows <c>PID-START-</c> (empty when nothing does).</param>
    public static bool TryParse(string text, out int pid, out long startTime, out string rest)
    {
        ArgumentNullException.ThrowIfNull(text);
        pid = 0;
        startTime = 0;
        rest = "";
        var parts = text.Split('-', 3);
        if (parts.Length < 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out pid)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out startTime))
        {
            return false;
        }

        rest = parts.Length == 3 ? parts[2] : "";
        return true;
    }

    /// <summary>Whether process <paramref name="pid"/>, started at <paramref name="startTime"/>, still runs.</summary>
    public static bool IsAlive(int pid, long startTime) => StartTime(pid) == startTime;

    /// <summary>The start time of process <paramref name="pid"/>, or null when there is no such process.</summary>
    public static long? StartTime(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count fields after the last ')'; starttime is field 22.
        var end = stat.LastIndexOf(')');
        if (end < 0 || end + 2 > stat.Length)
        {
            return null;
        }

        var fields = stat[(end + 2)..].Split(' ');
        return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start) ? start : null;
    }
}
