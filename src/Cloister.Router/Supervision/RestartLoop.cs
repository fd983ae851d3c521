using System.Diagnostics;

namespace Cloister.Router.Supervision;

/// <summary>
/// Keeps one child process running: when it exits unexpectedly, tells the owner (<c>lost</c>) at once, then
/// starts a new one with exponential backoff (250 ms doubling to 5 s; back to 250 ms after 30 s of uptime).
/// </summary>
internal sealed class RestartLoop : IAsyncDisposable
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StableUptime = TimeSpan.FromSeconds(30);

    private readonly string _what;
    private readonly Func<CancellationToken, Task<ChildProcess>> _start;
    private readonly Action<ChildProcess, string> _lost;
    private static readonly TimeSpan SignalGrace = TimeSpan.FromMilliseconds(100);

    private readonly CancellationTokenSource _stopping;
    private volatile ChildProcess _child;
    private Task _loop = Task.CompletedTask;

    private RestartLoop(string what, ChildProcess first, Func<CancellationToken, Task<ChildProcess>> start, Action<ChildProcess, string> lost, CancellationToken serveStopping)
    {
        _stopping = CancellationTokenSource.CreateLinkedTokenSource(serveStopping);
        _what = what;
        _child = first;
        _start = start;
        _lost = lost;
    }

    /// <summary>The running child.</summary>
    public ChildProcess Current => _child;

    /// <summary>
    /// Starts the first child with <paramref name="start"/> (which returns once the child is ready and disposes
    /// it on failure) and keeps it running until disposed or <paramref name="cancellationToken"/> (serve stopping) is cancelled.
    /// </summary>
    public static async Task<RestartLoop> StartAsync(string what, Func<CancellationToken, Task<ChildProcess>> start, Action<ChildProcess, string> lost, CancellationToken cancellationToken)
    {
        var first = await start(cancellationToken);
        var loop = new RestartLoop(what, first, start, lost, cancellationToken);
        loop._loop = loop.RunAsync();
        return loop;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _loop;
        await _child.DisposeAsync();
        _stopping.Dispose();
    }

    private async Task RunAsync()
    {
        var delay = FirstDelay;
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            var child = _child;
            try
            {
                await child.Exited.WaitAsync(_stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // A Ctrl-C in a terminal signals the whole process group: the child may exit a moment before serve's
            // own stop begins. That is no crash to restart from.
            try
            {
                await Task.Delay(SignalGrace, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var reason = $"the {_what} (pid {child.Id}) exited with code {child.ExitCode}";
            _lost(child, reason);
            Console.Error.WriteLine($"cloister: WARNING: {reason}; restarting it.{child.LastErrors()}");
            delay = Stopwatch.GetElapsedTime(started) > StableUptime ? FirstDelay : delay;
            await child.DisposeAsync();
            if (!await StartNextAsync(delay))
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
        }
    }

    /// <summary>Starts a new child after <paramref name="delay"/>, retrying with backoff; false when stopping.</summary>
    private async Task<bool> StartNextAsync(TimeSpan delay)
    {
        while (true)
        {
            try
            {
                await Task.Delay(delay, _stopping.Token);
                _child = await _start(_stopping.Token);
                Console.WriteLine($"cloister: {_what} restarted (pid {_child.Id})");
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            catch (SupervisionException e)
            {
                Console.Error.WriteLine($"cloister: WARNING: restarting the {_what} failed: {e.Message}");
                delay = TimeSpan.FromTicks(Math.Clamp(delay.Ticks * 2, FirstDelay.Ticks, MaxDelay.Ticks));
            }
        }
    }
}
