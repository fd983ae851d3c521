namespace Cloister.Hosting.Children;

/// <summary>
/// Ends a supervised child (<c>cloister worker</c>, <c>cloister keybroker</c> started by <c>serve</c>) when its
/// supervisor dies: <c>serve</c> keeps the child's stdin open as a pipe and never writes to it, so EOF on stdin
/// means the supervisor is gone (even after <c>kill -9</c>, when no shutdown code ran). The child then sends
/// itself SIGTERM, so it stops exactly as on an operator's SIGTERM (sandboxes killed, keys zeroed).
/// </summary>
public static class ParentWatch
{
    /// <summary>Set by the supervisor in the child's environment.</summary>
    public const string EnvironmentVariable = "CLOISTER_EXIT_ON_STDIN_EOF";

    /// <summary>Starts watching stdin when this process was started by a supervisor.</summary>
    public static void StartIfSupervised()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) != "1")
        {
            return;
        }

        // Not a thread-pool task: a blocking read of stdin must not hold a pool thread for the process's life.
        var thread = new Thread(WatchStdin) { IsBackground = true, Name = "cloister parent watch" };
        thread.Start();
    }

    private static void WatchStdin()
    {
        var buffer = new byte[256];
        try
        {
            using var stdin = Console.OpenStandardInput();
            while (stdin.Read(buffer) > 0)
            {
                // The supervisor never writes; anything read is ignored.
            }
        }
        catch (IOException)
        {
            // A broken pipe is the same news as EOF.
        }

        ProcessSignals.Terminate(Environment.ProcessId);
    }
}
