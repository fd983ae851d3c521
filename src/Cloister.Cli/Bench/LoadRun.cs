using System.Diagnostics;

namespace Cloister.Cli.Bench;

/// <summary>The measured outcome of one load phase.</summary>
internal sealed record LoadResult(string Name, long Requests, long Errors, double Seconds, double P50Ms, double P99Ms, int ItemsPerRequest)
{
    public double RequestsPerSecond => Requests / Seconds;

    public double ItemsPerSecond => RequestsPerSecond * ItemsPerRequest;
}

/// <summary>
/// Closed-loop load: <c>concurrency</c> workers each send one request at a time for a fixed duration,
/// or, with a target rate, paced so the whole run offers that many requests per second (to read p99
/// at a given load). Bounded in time; every latency is kept (a run is at most a few million samples).
/// </summary>
internal static class LoadRun
{
    public static async Task<LoadResult> RunAsync(string name, int concurrency, TimeSpan duration, double? targetRate, int itemsPerRequest, Func<int, CancellationToken, Task<bool>> send, CancellationToken cancellationToken)
    {
        var latencies = new List<long>[concurrency];
        var errors = 0L;
        var completed = 0L;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        var progress = Task.Run(async () =>
        {
            var last = 0L;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(1000, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var now = Interlocked.Read(ref completed);
                Console.Error.Write($"\r  {name}: {clock.Elapsed.TotalSeconds,4:0}s  {now - last,8:N0} req/s  errors {Interlocked.Read(ref errors)}   ");
                last = now;
            }
        }, CancellationToken.None);

        var interval = targetRate is { } rate ? TimeSpan.FromSeconds(concurrency / rate) : TimeSpan.Zero;
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<long>(1 << 16);
            var next = clock.Elapsed + (interval * w / concurrency);
            for (var i = 0; clock.Elapsed < duration && !stop.IsCancellationRequested; i++)
            {
                if (interval > TimeSpan.Zero)
                {
                    var wait = next - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, CancellationToken.None);
                    }

                    next += interval;
                }

                var started = Stopwatch.GetTimestamp();
                bool ok;
                try
                {
                    ok = await send(w * 1_000_000 + i, stop.Token);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    ok = false;
                }

                mine.Add(Stopwatch.GetTimestamp() - started);
                Interlocked.Increment(ref completed);
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }, CancellationToken.None)).ToArray();

        await Task.WhenAll(workers);
        var seconds = clock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await progress;
        Console.Error.WriteLine();

        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new LoadResult(name, all.Length, errors, seconds, Percentile(all, 0.50), Percentile(all, 0.99), itemsPerRequest);
    }

    // Nearest rank: the smallest sample with at least p of all samples at or below it.
    private static double Percentile(long[] sorted, double p)
        => sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)] * 1000.0 / Stopwatch.Frequency;
}
