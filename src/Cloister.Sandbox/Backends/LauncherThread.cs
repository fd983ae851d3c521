using System.Collections.Concurrent;
using System.Diagnostics;

namespace Cloister.Sandbox.Backends;

/// <summary>
/// The one host thread that forks every sandbox launcher, and never exits while the host runs.
/// </summary>
/// <remarks>
/// bubblewrap's <c>--die-with-parent</c> sets <c>PR_SET_PDEATHSIG</c> (SIGKILL) in the launcher, and
/// the kernel fires it when the <em>thread</em> that forked the launcher exits, not when the host
/// process does. Forked from a thread-pool or xunit/long-running-task thread, a healthy sandbox was
/// SIGKILLed (exit 137, "Crashed") whenever that thread retired — seen beside hostile sandboxes
/// because their churn made threads come and go (HostileSandboxTests.ItKeepsServingWhileHostileSandboxesRun);
/// ItKeepsASandboxRunningAfterTheThreadThatStartedItExits reproduces it deterministically. Forking from
/// this thread keeps the intended meaning: sandboxes die when the host process dies, and only then.
/// </remarks>
internal static class LauncherThread
{
    private static readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Started)> Queue = [];

    static LauncherThread()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "Cloister sandbox launcher" };
        thread.Start();
    }

    /// <summary>Starts <paramref name="info"/> from the launcher thread.</summary>
    public static Task<Process> StartAsync(ProcessStartInfo info)
    {
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Queue.Add((info, started));
        return started.Task;
    }

    private static void Run()
    {
        foreach (var (info, started) in Queue.GetConsumingEnumerable())
        {
            try
            {
                started.SetResult(Process.Start(info) ?? throw new SandboxException("could not start the sandbox launcher"));
            }
#pragma warning disable CA1031 // Any failure to start belongs to the caller; this thread must survive it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                started.SetException(e);
            }
        }
    }
}
