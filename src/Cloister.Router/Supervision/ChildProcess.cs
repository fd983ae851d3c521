using System.Diagnostics;
using Cloister.Hosting.Children;

namespace Cloister.Router.Supervision;

/// <summary>A child process could not be started or did not come up; the message ends with its last stderr lines.</summary>
internal sealed class SupervisionException(string message) : Exception(message);

/// <summary>
/// One <c>cloister</c> child process (this same executable with other arguments) started by <c>serve</c>: its
/// stdout and stderr lines are relayed with the child's name, its stdin is a pipe kept open until
/// <see cref="StopAsync"/> (EOF tells the child its supervisor is gone, see <see cref="ParentWatch"/>), and
/// its last stderr lines are kept for error messages.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int KeptErrorLines = 12;

    private readonly Process _process;
    private readonly string _prefix;
    private readonly Queue<string> _lastErrors = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<ReadinessReport> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process, string name)
    {
        _process = process;
        _prefix = $"cloister {name}: ";
        Name = name;
    }

    /// <summary>The child's name in relayed lines ("worker", "keybroker").</summary>
    public string Name { get; }

    /// <summary>The child's process id.</summary>
    public int Id => _process.Id;

    /// <summary>Completes when the child has exited.</summary>
    public Task Exited => _exited.Task;

    /// <summary>The exit code (valid once <see cref="Exited"/> completed).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <c>cloister {arguments}</c>, with <paramref name="environment"/> added to its environment.</summary>
    public static ChildProcess Start(string name, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = SelfExecutable.StartInfo(arguments);
        start.RedirectStandardInput = true;
        start.Environment[ParentWatch.EnvironmentVariable] = "1";
        start.Environment[Readiness.EnvironmentVariable] = "1";
        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[variable] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ChildProcess(process, name);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data, error: false);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data, error: true);
        process.Exited += (_, _) => child.OnExited();
        if (!process.Start())
        {
            throw new SupervisionException($"could not start the {name} process");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>
    /// Waits for the child's <see cref="ReadinessReport"/>. Fails with the child's last stderr lines when it exits
    /// first or <paramref name="timeout"/> passes.
    /// </summary>
    public async Task<ReadinessReport> WaitForReadinessAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var finished = await Task.WhenAny(_ready.Task, Exited, Task.Delay(timeout, cancellationToken));
        if (finished == _ready.Task)
        {
            return await _ready.Task;
        }

        cancellationToken.ThrowIfCancellationRequested();
        var what = finished == Exited ? $"exited with code {ExitCode}" : $"did not report ready within {timeout.TotalSeconds:0} s";
        throw new SupervisionException($"the {Name} process (pid {Id}) {what}.{LastErrors()}");
    }

    /// <summary>The child's last stderr lines, as a suffix for an error message ("" when there are none).</summary>
    public string LastErrors()
    {
        lock (_lastErrors)
        {
            return _lastErrors.Count == 0 ? "" : $" Its last error output:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", _lastErrors)}";
        }
    }

    /// <summary>Closes the child's stdin (it shuts down), waits up to <paramref name="grace"/>, then kills it.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // Already gone.
        }

        try
        {
            await Exited.WaitAsync(grace);
        }
        catch (TimeoutException)
        {
            Kill();
            await Exited;
        }
    }

    /// <summary>SIGKILL the child (and anything it started).</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!Exited.IsCompleted)
        {
            await StopAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }

    private void OnLine(string? line, bool error)
    {
        if (line is null)
        {
            return;
        }

        // Lines that already name their process ("cloister worker: measurement …") are relayed as they are.
        var relayed = line.StartsWith("cloister ", StringComparison.Ordinal) ? line : _prefix + line;
        if (error)
        {
            Console.Error.WriteLine(relayed);
            lock (_lastErrors)
            {
                _lastErrors.Enqueue(line);
                while (_lastErrors.Count > KeptErrorLines)
                {
                    _lastErrors.Dequeue();
                }
            }

            return;
        }

        // The readiness report is for this supervisor, not for the operator's console (Readiness).
        if (Readiness.TryParse(line) is { } report)
        {
            _ready.TrySetResult(report);
            return;
        }

        Console.WriteLine(relayed);
    }

    private void OnExited()
    {
        // Exited can fire before the last redirected lines were read; WaitForExit drains them first (bounded:
        // a grandchild that inherited the pipe must not hold this up).
        _process.WaitForExit(TimeSpan.FromSeconds(5));
        _exited.TrySetResult();
    }
}
