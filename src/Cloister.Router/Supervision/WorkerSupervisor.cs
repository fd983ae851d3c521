using Cloister.Hosting.Children;
using Cloister.Protocol;
using Cloister.Protocol.Http;
using Cloister.Protocol.Rings;

namespace Cloister.Router.Supervision;

/// <summary>How <c>serve</c> talks to the worker it starts.</summary>
internal enum WorkerLink
{
    /// <summary>Shared-memory rings in /dev/shm (the default).</summary>
    Ring,

    /// <summary>HTTP on 127.0.0.1 (the remote worker's transport, on this host; for comparison and where /dev/shm is missing).</summary>
    LoopbackHttp,
}

/// <summary>
/// Runs <c>cloister worker</c> as a child, serves the router through <see cref="Transport"/>, and when the worker
/// dies fails its in-flight requests (retryable), starts a new one with a new ring (it re-attests and reloads keys
/// on demand) and switches the router to it. A worker that stops answering health pings is killed, which makes it one
/// that died (<see cref="HangWatch"/>).
/// </summary>
internal sealed class WorkerSupervisor : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    private readonly string _dataDirectory;
    private readonly Uri _broker;
    private readonly IReadOnlyList<string> _functionArguments;
    private readonly WorkerLink _link;
    private readonly WorkerHealthOptions _health;
    private readonly RingOptions _rings;
    private readonly CancellationTokenSource _stopWatching = new();
    private readonly List<Task> _watches = [];
    private readonly SwitchableTransport _transport = new();
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly object _gate = new();
    private readonly List<IAsyncDisposable> _retired = [];
    private RestartLoop? _loop;
    private IAsyncDisposable? _currentLink;
    private int _generation;

    private WorkerSupervisor(string dataDirectory, Uri broker, PartitionSettings settings)
    {
        _health = settings.Health;
        _rings = settings.Rings;
        _dataDirectory = dataDirectory;
        _broker = broker;
        _functionArguments = settings.FunctionArguments;
        _link = settings.Link;
    }

    /// <summary>The router's transport: always the current worker's, failing with <see cref="TransportUnavailableException"/> while it restarts.</summary>
    public IFrameTransport Transport => _transport;

    /// <summary>The worker's measurement (lower-case hex SHA-384), as it printed it.</summary>
    public string Measurement { get; private set; } = "";

    /// <summary>The running worker's process id.</summary>
    public int ProcessId => _loop!.Current.Id;

    /// <summary>What the router and the current worker talk over (for the start-up line).</summary>
    public string LinkDescription { get; private set; } = "";

    public static async Task<WorkerSupervisor> StartAsync(string dataDirectory, Uri broker, PartitionSettings settings, CancellationToken cancellationToken)
    {
        var supervisor = new WorkerSupervisor(dataDirectory, broker, settings);
        if (settings.Link == WorkerLink.Ring)
        {
            RingFiles.SweepStale();
        }

        supervisor._loop = await RestartLoop.StartAsync("enclave worker", supervisor.StartOneAsync, supervisor.OnLost, cancellationToken);
        return supervisor;
    }

    public async ValueTask DisposeAsync()
    {
        _transport.Clear("The server is stopping.");
        await _stopWatching.CancelAsync();
        Task[] watches;
        lock (_gate)
        {
            watches = [.. _watches];
        }

        await Task.WhenAll(watches);
        if (_loop is not null)
        {
            await _loop.DisposeAsync();
        }

        List<IAsyncDisposable> links;
        lock (_gate)
        {
            links = [.. _retired, .. _currentLink is null ? [] : new[] { _currentLink }];
            _retired.Clear();
            _currentLink = null;
        }

        foreach (var link in links)
        {
            await link.DisposeAsync();
        }

        _http.Dispose();
        _stopWatching.Dispose();
    }

    private async Task<ChildProcess> StartOneAsync(CancellationToken cancellationToken)
    {
        await DisposeRetiredAsync();
        var generation = Interlocked.Increment(ref _generation);
        RingFrameTransport? ring = null;
        string[] serveArguments;
        if (_link == WorkerLink.Ring)
        {
            ring = RingFrameTransport.Create(RingFiles.PathFor(generation), _rings);
            serveArguments = ["--ring", ring.Path];
        }
        else
        {
            serveArguments = ["--listen", "http://127.0.0.1:0"];
        }

        // A listening worker answers only frames that carry its token; a fresh one per generation, passed in the environment.
        var token = ring is null ? WorkerLinkToken.Generate() : null;
        ChildProcess? child = null;
        try
        {
            var environment = token is null ? null : new Dictionary<string, string> { [WorkerLinkToken.EnvironmentVariable] = token };
            child = ChildProcess.Start("worker", ["worker", "--data-dir", _dataDirectory, .. serveArguments, "--broker", _broker.AbsoluteUri, .. _functionArguments], environment);
            var ready = await child.WaitForReadinessAsync(ReadyTimeout, cancellationToken);
            Measurement = ready.Measurement is { Length: > 0 } measurement
                ? measurement
                : throw new SupervisionException($"the worker process (pid {child.Id}) reported ready without its measurement.");
            var frames = ring is null
                ? new Uri(new Uri(ready.Listening ?? throw new SupervisionException($"the worker process (pid {child.Id}) reported ready without its address.")), FramePaths.Worker)
                : null;
            IFrameTransport transport = frames is null ? ring! : new HttpFrameTransport(_http, frames, token) { MaxFrameBytes = _rings.MaxMessageBytes };
            lock (_gate)
            {
                _currentLink = ring;
                _watches.RemoveAll(watch => watch.IsCompleted);
                _watches.Add(HangWatch.RunAsync(WatchedWorker.Of(child), transport, _health, ring is null ? null : () => ring.ResponsesReceived, _stopWatching.Token));
                if (ring is not null)
                {
                    _watches.Add(ReplaceOnLinkFailureAsync(WatchedWorker.Of(child), ring, _stopWatching.Token));
                }
            }

            LinkDescription = frames is null ? $"shared-memory ring {ring!.Path}" : $"HTTP {frames}";
            _transport.Switch(transport);
            return child;
        }
        catch
        {
            child?.Kill();
            if (child is not null)
            {
                await child.DisposeAsync();
            }

            if (ring is not null)
            {
                await ring.DisposeAsync();
            }

            throw;
        }
    }

    private void OnLost(ChildProcess child, string reason)
    {
        var message = $"The enclave worker is restarting ({reason}).";
        _transport.Clear(message);
        lock (_gate)
        {
            if (_currentLink is RingFrameTransport ring)
            {
                ring.Fail(message);
                _retired.Add(ring);
            }

            _currentLink = null;
        }
    }

    private async Task DisposeRetiredAsync()
    {
        List<IAsyncDisposable> retired;
        lock (_gate)
        {
            retired = [.. _retired];
            _retired.Clear();
        }

        foreach (var link in retired)
        {
            await link.DisposeAsync();
        }
    }

    /// <summary>
    /// A ring that failed while its worker lives (a corrupt ring, a reader that died) serves nobody again: kill the worker
    /// at once so that the restart loop replaces it, rather than answering every request 503 until the hang check notices.
    /// </summary>
    private static async Task ReplaceOnLinkFailureAsync(WatchedWorker worker, RingFrameTransport ring, CancellationToken cancellationToken)
    {
        try
        {
            var first = await Task.WhenAny(ring.Failed, worker.Exited).WaitAsync(cancellationToken);

            // A worker that exited fails its ring too (the ring notices within 100 ms, sometimes before the exit is
            // reaped): that is the restart loop's business, not a broken link.
            await Task.WhenAny(worker.Exited, Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken));
            if (first == ring.Failed && !worker.Exited.IsCompleted)
            {
                Console.Error.WriteLine($"cloister: WARNING: the ring to the enclave worker (pid {worker.Id}) failed ({ring.Failed.Result}); killing the worker to replace it.");
                worker.Kill();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // serve is stopping.
        }
    }
}
