using System.Runtime.InteropServices;

namespace Cloister.Hosting.Children;

/// <summary>Sends SIGTERM: the stop an operator gives (a process then runs its shutdown code; <see cref="System.Diagnostics.Process.Kill()"/> is SIGKILL).</summary>
public static partial class ProcessSignals
{
    private const int SigTerm = 15;

    /// <summary>Asks process <paramref name="pid"/> to stop; a pid that is already gone is ignored.</summary>
    public static void Terminate(int pid) => _ = SendSignal(pid, SigTerm);

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);
}
