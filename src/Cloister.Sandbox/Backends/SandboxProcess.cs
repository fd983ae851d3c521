using System.Diagnostics;
using System.Text;

namespace Cloister.Sandbox.Backends;

/// <summary>What differs between backends once a sandbox runs.</summary>
internal interface ISandboxHost : IDisposable
{
    /// <summary>Kills every process of the sandbox.</summary>
    void KillAll();

    /// <summary>CPU time used so far by the whole sandbox.</summary>
    TimeSpan CpuUsed();

    /// <summary>Why the program ended when the host did not end it.</summary>
    SandboxExitReason Classify(int exitCode, string stderrTail);

    /// <summary>Whether the host saw a fork refused at the pids limit (false where the limit is enforced out of its sight).</summary>
    bool HitPidsLimit();
}

/// <summary>
/// A started sandbox: the host process (the backend's launcher), its pipes, and the host-side
/// enforcement of the wall timeout, the CPU time (polled from the cgroup) and the output cap.
/// </summary>
/// <remarks>Owns the <see cref="Process"/>, the pipes and the <see cref="ISandboxHost"/>; disposal kills and removes them.</remarks>
internal sealed class SandboxProcess : ISandboxProcess
{
    private const int StderrTailBytes = 4096;
    private static readonly TimeSpan CpuPollInterval = TimeSpan.FromMilliseconds(50);

    private readonly Process _process;
    private readonly ISandboxHost _host;
    private readonly CancellationTokenSource _watch = new();
    private readonly OutputBudget _output;
    private readonly Task _stderrPump;
    private readonly Task _watchdog;
    private readonly List<byte> _tail = new(StderrTailBytes);
    private readonly Lazy<Task<SandboxExit>> _exit;
    private Budget _budget;
    private int _hostReason = -1;
    private int _disposed;

    public SandboxProcess(Process process, ISandboxHost host, SandboxLimits limits)
    {
        _process = process;
        _host = host;
        _output = new OutputBudget(limits.OutputBytes);
        _budget = new Budget(Stopwatch.GetTimestamp(), limits.WallTimeout, TimeSpan.Zero, TimeSpan.FromSeconds(limits.CpuSeconds));
        Input = process.StandardInput.BaseStream;
        Output = new CappedReadStream(process.StandardOutput.BaseStream, _output, () => Terminate(SandboxExitReason.OutputLimit));
        _stderrPump = Task.Run(PumpStderrAsync);
        _watchdog = Task.Run(WatchAsync);
        _exit = new Lazy<Task<SandboxExit>>(WaitCoreAsync);
    }

    public Stream Input { get; }

    public Stream Output { get; }

    public Task<SandboxExit> WaitAsync() => _exit.Value;

    public void Kill() => Terminate(SandboxExitReason.Killed);

    /// <summary>Whether a fork in the sandbox has been refused at its pids limit, as far as the host can see.</summary>
    public bool HitPidsLimit() => _host.HitPidsLimit();

    /// <summary>
    /// Starts a new budget: from now on the sandbox may run for <paramref name="wall"/> (no bound when
    /// null), use <paramref name="cpu"/> of CPU time more than it has used so far, and write
    /// <see cref="SandboxLimits.OutputBytes"/> more, whatever it used before. Its owner opens one per
    /// phase (starting, each invocation, idle) of a sandbox started with <see cref="SandboxSpec.RenewableLimits"/>;
    /// without renewals the first budget is the sandbox's whole life.
    /// </summary>
    public void RenewBudget(TimeSpan? wall, TimeSpan cpu)
    {
        Volatile.Write(ref _budget, new Budget(Stopwatch.GetTimestamp(), wall, _host.CpuUsed(), cpu));
        _output.Reset();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_process.HasExited)
        {
            Terminate(SandboxExitReason.Killed);
        }

        try
        {
            await WaitAsync().ConfigureAwait(false);
        }
        finally
        {
            await _watch.CancelAsync().ConfigureAwait(false);
            try
            {
                await _watchdog.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            _host.Dispose();
            Input.Dispose();
            Output.Dispose();
            _process.Dispose();
            _watch.Dispose();
        }
    }

    private void Terminate(SandboxExitReason reason)
    {
        Interlocked.CompareExchange(ref _hostReason, (int)reason, -1);
        _host.KillAll();
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }

    private async Task WatchAsync()
    {
        while (!_process.HasExited)
        {
            var budget = Volatile.Read(ref _budget);
            var left = budget.Wall - Stopwatch.GetElapsedTime(budget.Started);
            if (left <= TimeSpan.Zero)
            {
                Terminate(SandboxExitReason.WallTimeout);
                return;
            }

            if (budget.CpuExceeded(_host.CpuUsed()))
            {
                Terminate(SandboxExitReason.CpuLimit);
                return;
            }

            await Task.Delay(left < CpuPollInterval ? left.Value : CpuPollInterval, _watch.Token).ConfigureAwait(false);
        }
    }

    private async Task PumpStderrAsync()
    {
        var buffer = new byte[8192];
        var stream = _process.StandardError.BaseStream;
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                lock (_tail)
                {
                    // Keep only the last StderrTailBytes: the tail says why it died; the rest is discarded so memory stays bounded.
                    var chunk = buffer.AsSpan(0, n);
                    AppendTail(chunk);
                }

                if (!_output.Consume(n))
                {
                    Terminate(SandboxExitReason.OutputLimit);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void AppendTail(ReadOnlySpan<byte> chunk)
    {
        if (chunk.Length >= StderrTailBytes)
        {
            _tail.Clear();
            _tail.AddRange(chunk[^StderrTailBytes..]);
            return;
        }

        var overflow = _tail.Count + chunk.Length - StderrTailBytes;
        if (overflow > 0)
        {
            _tail.RemoveRange(0, overflow);
        }

        _tail.AddRange(chunk);
    }

    private async Task<SandboxExit> WaitCoreAsync()
    {
        await _process.WaitForExitAsync().ConfigureAwait(false);
        var exitCode = _process.ExitCode;

        // The launcher is gone; whatever it left behind in the sandbox goes too, so stderr reaches end of file.
        _host.KillAll();
        await Task.WhenAny(_stderrPump, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);

        string tail;
        lock (_tail)
        {
            tail = Encoding.UTF8.GetString([.. _tail]);
        }

        var hostReason = Volatile.Read(ref _hostReason);
        var reason = hostReason >= 0 ? (SandboxExitReason)hostReason : _host.Classify(exitCode, tail);
        if (hostReason < 0 && reason == SandboxExitReason.Exited && Volatile.Read(ref _budget).CpuExceeded(_host.CpuUsed()))
        {
            reason = SandboxExitReason.CpuLimit;
        }

        return new SandboxExit(exitCode, reason, tail);
    }

    /// <summary>The wall-clock and CPU allowance of the current phase, measured from its start.</summary>
    private sealed record Budget(long Started, TimeSpan? Wall, TimeSpan CpuAtStart, TimeSpan Cpu)
    {
        public bool CpuExceeded(TimeSpan cpuUsed) => cpuUsed - CpuAtStart > Cpu;
    }
}
