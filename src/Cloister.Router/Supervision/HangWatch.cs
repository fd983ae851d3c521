using Cloister.Protocol;

namespace Cloister.Router.Supervision;

/// <summary>How <c>serve</c> checks that its worker still answers (hidden serve options <c>--worker-health-*</c>).</summary>
/// <param name="Interval">Time between the end of one ping and the next (default 5 s).</param>
/// <param name="Timeout">How long one ping may take (default 5 s).</param>
/// <param name="Failures">Consecutive unanswered pings after which the worker counts as hung (default 3).</param>
internal sealed record WorkerHealthOptions(TimeSpan Interval, TimeSpan Timeout, int Failures)
{
    /// <summary>The defaults: a hung worker is killed within about 30 s (3 × (5 s + 5 s)).</summary>
    public static WorkerHealthOptions Default { get; } = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), 3);
}

/// <summary>The worker process a <see cref="HangWatch"/> watches.</summary>
/// <param name="Id">Its pid (for the warning).</param>
/// <param name="Exited">Completes when it exited.</param>
/// <param name="Kill">SIGKILLs it and everything it started.</param>
internal sealed record WatchedWorker(int Id, Task Exited, Action Kill)
{
    /// <summary>The worker behind <paramref name="child"/>.</summary>
    public static WatchedWorker Of(ChildProcess child) => new(child.Id, child.Exited, child.Kill);
}

/// <summary>
/// Pings one worker process (<see cref="WorkerHealthRequest"/> over its own transport, not the router's switchable
/// one, so that a ping never reaches its successor) and SIGKILLs it, with everything it started, after
/// <see cref="WorkerHealthOptions.Failures"/> unanswered pings in a row. The <see cref="RestartLoop"/> sees the exit and
/// restarts it as after a crash (new ring, transport switched, re-attestation).
/// </summary>
/// <remarks>
/// A busy worker is not a hung one: a ping travels in the control lane (<see cref="FrameLane.Control"/>), takes no
/// worker slot and is answered on the frame reader at once, however many long invocations or slow requests hold the
/// worker's slots (<c>HangWatchTests</c>, <c>WorkerHangTests.WorkerBusyWithALongInvocation_IsNotRestarted</c>). As a
/// second safeguard a miss counts only if no response at all came from the worker since the previous ping
/// (<c>progress</c>, the ring's response count).
/// </remarks>
internal sealed class HangWatch
{
    private readonly WatchedWorker _worker;
    private readonly IFrameTransport _transport;
    private readonly WorkerHealthOptions _options;
    private readonly Func<long>? _progress;

    private HangWatch(WatchedWorker child, IFrameTransport transport, WorkerHealthOptions options, Func<long>? progress)
    {
        _worker = child;
        _transport = transport;
        _options = options;
        _progress = progress;
    }

    /// <summary>Watches <paramref name="child"/> until it exits or <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="child">The worker process.</param>
    /// <param name="transport">Its own transport (not the router's switchable one).</param>
    /// <param name="options">Interval, timeout and misses.</param>
    /// <param name="progress">A count of the responses the worker wrote (rings: the worker may be saturated), or null.</param>
    /// <param name="cancellationToken">Cancelled when serve stops.</param>
    public static Task RunAsync(WatchedWorker child, IFrameTransport transport, WorkerHealthOptions options, Func<long>? progress, CancellationToken cancellationToken)
        => new HangWatch(child, transport, options, progress).RunAsync(cancellationToken);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        string? lastFailure = null;
        var responses = _progress?.Invoke() ?? 0;
        try
        {
            while (!_worker.Exited.IsCompleted)
            {
                await Task.Delay(_options.Interval, cancellationToken);
                var ping = await WorkerHealth.PingAsync(_transport, _options.Timeout, cancellationToken);
                if (_worker.Exited.IsCompleted)
                {
                    return; // a crash, not a hang: the restart loop reports it
                }

                var previous = responses;
                responses = _progress?.Invoke() ?? 0;
                failures = ping.Answered || responses > previous ? 0 : failures + 1;
                lastFailure = ping.Failure ?? lastFailure;
                if (failures >= _options.Failures)
                {
                    Console.Error.WriteLine($"cloister: WARNING: the enclave worker (pid {_worker.Id}) is hung: {failures} health pings in a row went unanswered, and no other response came meanwhile (last: {lastFailure}; timeout {_options.Timeout.TotalSeconds:0.#} s each); killing it (SIGKILL) to restart it.");
                    _worker.Kill();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // serve is stopping.
        }
    }
}
