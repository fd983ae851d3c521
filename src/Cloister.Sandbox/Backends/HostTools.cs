using System.Runtime.InteropServices;

namespace Cloister.Sandbox.Backends;

/// <summary>Small host helpers: finding tools, the effective uid, signals.</summary>
internal static partial class HostTools
{
    public static bool IsRoot => OperatingSystem.IsLinux() && GetEffectiveUserId() == 0;

    public static string? Find(string command)
    {
        var path = System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/usr/bin"]))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Sends SIGKILL; a pid that is already gone is ignored.</summary>
    public static void KillPid(int pid) => _ = SendSignal(pid, 9);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);
}
