using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Cloister.Cli.Bench;

/// <summary>Cold starts of one runtime on one server: each run is the first invocation of a freshly deployed version.</summary>
internal sealed record ColdResult(string Runtime, string Server, int Runs, int ReportedCold, double P50Ms, double MaxMs);

/// <summary>One closed-loop phase of warm invocations; <paramref name="Cold"/> answers said <c>"warm": false</c> (a sandbox started during the phase).</summary>
internal sealed record WarmResult(string Runtime, string Server, int Clients, LoadResult Load, long Cold);

/// <summary>
/// cloister bench functions: cold start, warm latency and throughput of a trivial Python and Node
/// function over HTTP against a real server child process, and the same against a server started
/// with <c>--unsafe-no-sandbox</c> (handlers run as plain child processes) as the baseline of the
/// same run. Progress goes to stderr, the tables to stdout.
/// </summary>
internal static class FunctionBench
{
    /// <summary>The serve switch that runs functions without a sandbox (the baseline).</summary>
    public const string NoSandboxSwitch = "--unsafe-no-sandbox";

    private const string Unsandboxed = "no sandbox";
    /// <summary>How long each warm-up invocation holds its sandbox (longer than a cold start, so they overlap).</summary>
    private const double WarmupHoldSeconds = 1.5;

    /// <summary>Unmeasured load before each phase (at most the phase's duration).</summary>
    private static readonly TimeSpan WarmupDuration = TimeSpan.FromSeconds(3);

    private static readonly int[] ClientCounts = [1, 4, FunctionBenchBundle.Concurrency];

    /// <summary>
    /// Measures a server per entry of <paramref name="backends"/> (null: the server's default backend),
    /// then the unsandboxed baseline when <paramref name="baseline"/>.
    /// </summary>
    public static async Task<int> RunAsync(string? explicitUrl, string? explicitKey, IReadOnlyList<string?> backends, int coldRuns, TimeSpan duration, bool baseline, CancellationToken cancellationToken)
    {
        var cold = new List<ColdResult>();
        var warm = new List<WarmResult>();
        Console.Error.WriteLine($"bench functions: {coldRuns} cold starts per runtime, {duration.TotalSeconds:0} s per warm phase, clients {string.Join('/', ClientCounts)}");

        foreach (var backend in explicitUrl is null ? backends : [null])
        {
            await MeasureServerAsync(backend is null ? [] : ["--sandbox", backend], explicitUrl, explicitKey, coldRuns, duration, cold, warm, cancellationToken);
        }

        if (baseline)
        {
            try
            {
                await MeasureServerAsync([NoSandboxSwitch], null, null, coldRuns, duration, cold, warm, cancellationToken);
            }
            catch (CliException e)
            {
                Console.Error.WriteLine($"bench functions: no baseline ({e.Message}); does this build's 'serve' accept {NoSandboxSwitch}?");
            }
        }

        PrintTables(cold, warm);
        return warm.Any(w => w.Load.Errors > 0) ? 1 : 0;
    }

    private static async Task MeasureServerAsync(
        string[] serveArguments, string? explicitUrl, string? explicitKey, int coldRuns, TimeSpan duration,
        List<ColdResult> cold, List<WarmResult> warm, CancellationToken cancellationToken)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "cloister-bench-fn-" + Guid.NewGuid().ToString("N")[..8]);
        await using var child = explicitUrl is null
            ? await ChildServer.StartAsync(["serve", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0", .. serveArguments], cancellationToken)
            : null;
        try
        {
            var server = child is null ? "sandboxed" : ServerLabel(child.StartupOutput);
            Console.Error.WriteLine($"bench functions: {server} server at {child?.Url ?? explicitUrl}");
            var key = child is null ? explicitKey ?? throw new CliException("--url needs a tenant key (--key or the data dir's credentials).", 2) : ChildServer.ReadCredential(dataDir, "tenantKey");
            using var http = BenchHttp.CreateHttp(child?.Url ?? explicitUrl!, FunctionBenchBundle.Concurrency, key);
            foreach (var runtime in FunctionBenchBundle.Runtimes)
            {
                var name = $"bench-{runtime}-{Guid.NewGuid().ToString("N")[..6]}";
                cold.Add(await MeasureColdAsync(http, server, runtime, name, coldRuns, cancellationToken));

                // A version of its own for the warm phases, so that no cold-start run's sandbox serves them.
                var version = await DeployAsync(http, name, runtime, coldRuns, cancellationToken);
                var v = version.ToString(CultureInfo.InvariantCulture);
                var body = $"{{\"version\":{v},\"args\":{{\"n\":1}}}}";
                var hold = $"{{\"version\":{v},\"args\":{{\"n\":1,\"hold\":{WarmupHoldSeconds.ToString(CultureInfo.InvariantCulture)}}}}}";
                foreach (var clients in ClientCounts)
                {
                    // Start as many sandboxes as the phase has clients before timing it: invocations held
                    // open together each need a sandbox of their own; then one unheld round warms the path.
                    await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ => (await InvokeAsync(http, name, hold, cancellationToken)).Dispose()));
                    await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ => (await InvokeAsync(http, name, body, cancellationToken)).Dispose()));

                    // Unmeasured load first, so that the phase measures the server after its JIT has
                    // compiled the invoke path's hot methods (tiered compilation) rather than during.
                    var warmup = duration < WarmupDuration ? duration : WarmupDuration;
                    await LoadRun.RunAsync($"{runtime} {server} x{clients} warm-up", clients, warmup, null, 1,
                        (_, ct) => BenchHttp.PostAsync(http, $"v1/functions/{name}/invoke", body, ct), cancellationToken);
                    var coldInPhase = new StrongBox<long>();
                    var load = await LoadRun.RunAsync($"{runtime} {server} x{clients}", clients, duration, null, 1,
                        (_, ct) => InvokeCountingColdAsync(http, $"v1/functions/{name}/invoke", body, coldInPhase, ct), cancellationToken);
                    warm.Add(new WarmResult(runtime, server, clients, load, Interlocked.Read(ref coldInPhase.Value)));
                }
            }
        }
        finally
        {
            if (child is not null)
            {
                await child.DisposeAsync();
                BenchHttp.TryDelete(dataDir);
            }
        }
    }

    /// <summary>The backend the server says it runs functions in ("functions: sandbox runsc (…)"), or "no sandbox".</summary>
    private static string ServerLabel(IReadOnlyList<string> startup)
    {
        const string Marker = "functions: sandbox ";
        foreach (var line in startup)
        {
            if (line.Contains("functions: NO SANDBOX", StringComparison.Ordinal))
            {
                return Unsandboxed;
            }

            var at = line.IndexOf(Marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                return line[(at + Marker.Length)..].Split(' ', 2)[0].TrimEnd(';');
            }
        }

        throw new CliException("The server runs no functions (no usable sandbox); see 'cloister serve'.");
    }

    private static async Task<ColdResult> MeasureColdAsync(HttpClient http, string server, string runtime, string name, int runs, CancellationToken cancellationToken)
    {
        var times = new List<double>(runs);
        var reportedCold = 0;
        for (var run = 0; run < runs; run++)
        {
            var version = await DeployAsync(http, name, runtime, run, cancellationToken);
            var body = $"{{\"version\":{version.ToString(CultureInfo.InvariantCulture)},\"args\":{{\"n\":0}}}}";
            var started = Stopwatch.GetTimestamp();
            using var answer = await InvokeAsync(http, name, body, cancellationToken);
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            times.Add(ms);
            if (answer.RootElement.TryGetProperty("warm", out var w) && w.ValueKind == JsonValueKind.False)
            {
                reportedCold++;
            }

            Console.Error.Write($"\r  {runtime} {server} cold start {run + 1}/{runs}: {ms,8:0.0} ms   ");
        }

        Console.Error.WriteLine();
        times.Sort();
        return new ColdResult(runtime, server, runs, reportedCold, times[(times.Count - 1) / 2], times[^1]);
    }

    /// <summary>Deploys a new version of the trivial function and returns its version number.</summary>
    private static async Task<long> DeployAsync(HttpClient http, string name, string runtime, int nonce, CancellationToken cancellationToken)
    {
        using var content = new StringContent(FunctionBenchBundle.DeployBody(runtime, nonce), Encoding.UTF8, "application/json");
        using var response = await http.PutAsync($"v1/functions/{name}", content, cancellationToken);
        using var answer = await ReadAsync(response, HttpStatusCode.Created, "deploy", cancellationToken);
        return answer.RootElement.GetProperty("version").GetInt64();
    }

    private static async Task<JsonDocument> InvokeAsync(HttpClient http, string name, string body, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync($"v1/functions/{name}/invoke", content, cancellationToken);
        return await ReadAsync(response, HttpStatusCode.OK, "invoke", cancellationToken);
    }

    /// <summary>One measured invocation: whether it succeeded; counts the answers a sandbox had to start for.</summary>
    private static async Task<bool> InvokeCountingColdAsync(HttpClient http, string path, string body, StrongBox<long> cold, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(path, content, cancellationToken);
        var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (answer.AsSpan().IndexOf("\"warm\":false"u8) >= 0)
        {
            Interlocked.Increment(ref cold.Value);
        }

        return response.IsSuccessStatusCode;
    }

    /// <summary>The JSON answer, or a <see cref="CliException"/> naming the status and problem type (never the body's values).</summary>
    private static async Task<JsonDocument> ReadAsync(HttpResponseMessage response, HttpStatusCode expected, string what, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonDocument? document = null;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
        }

        if (response.StatusCode != expected || document is null)
        {
            var type = document?.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null;
            document?.Dispose();
            throw new CliException($"{what} answered {(int)response.StatusCode}{(type is null ? "" : " " + type)}.");
        }

        return document;
    }

    private static void PrintTables(List<ColdResult> cold, List<WarmResult> warm)
    {
        static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

        Console.WriteLine();
        Console.WriteLine("| runtime | server | cold starts | reported cold | p50 ms | max ms | p50 vs no sandbox |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var c in cold)
        {
            var baseline = cold.Find(b => b.Runtime == c.Runtime && b.Server == Unsandboxed);
            Console.WriteLine(F($"| {c.Runtime} | {c.Server} | {c.Runs} | {c.ReportedCold} | {c.P50Ms:0.0} | {c.MaxMs:0.0} | {Ratio(c.P50Ms, baseline?.P50Ms)} |"));
        }

        Console.WriteLine();
        Console.WriteLine("| runtime | server | clients | invocations/s | p50 ms | p99 ms | errors | cold | inv/s vs no sandbox | p50 vs no sandbox |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var w in warm)
        {
            var baseline = warm.Find(b => b.Runtime == w.Runtime && b.Clients == w.Clients && b.Server == Unsandboxed)?.Load;
            Console.WriteLine(F($"| {w.Runtime} | {w.Server} | {w.Clients} | {w.Load.RequestsPerSecond:N0} | {w.Load.P50Ms:0.00} | {w.Load.P99Ms:0.00} | {w.Load.Errors} | {w.Cold} | {Ratio(w.Load.RequestsPerSecond, baseline?.RequestsPerSecond)} | {Ratio(w.Load.P50Ms, baseline?.P50Ms)} |"));
        }

        Console.WriteLine();
        Console.WriteLine("server: the sandbox backend the server reported (runsc = gVisor, bwrap = bubblewrap). "
            + $"no sandbox: 'serve {NoSandboxSwitch}', the same handlers as plain child processes, same run. "
            + "cold: answers in a measured phase that started a sandbox (\"warm\": false). "
            + "Goals (issue 3): warm p50 <= 5 ms, p99 <= 20 ms, >= 500 invocations/s, cold start <= 500 ms.");
    }

    private static string Ratio(double value, double? baseline)
        => baseline is { } b && b > 0 ? (value / b).ToString("0.00", CultureInfo.InvariantCulture) + "x" : "n/a";
}
