using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Cloister.Cli.Bench;

/// <summary>
/// cloister bench isolation (issue 10): tenant B's creates, reveals and invocations, measured alone and then while
/// tenant A floods the same server with invocations that sleep, in one run against one real <c>serve</c> child.
/// A's function sleeps as long as it is told (<c>concurrency</c> 64, the issue's attacker) and A keeps itself at its limits
/// the whole time (16 running, 64 waiting, the rest refused with 429), as a hostile tenant would; B's latency during the
/// flood beside B's alone, with the server's default limits, is the measure of isolation.
/// </summary>
internal static class IsolationBench
{
    private static readonly string[] Operations = ["create", "reveal", "invoke"];

    public static async Task<int> RunAsync(int concurrency, TimeSpan duration, CancellationToken cancellationToken)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "cloister-bench-isolation-" + Guid.NewGuid().ToString("N")[..8]);
        var alone = new List<LoadResult>();
        var flooded = new List<LoadResult>();
        var flood = new FloodCounts();
        try
        {
            await using var child = await ChildServer.StartAsync(["serve", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0"], cancellationToken);
            foreach (var line in child.StartupOutput.Where(l => l.Contains("sandbox", StringComparison.OrdinalIgnoreCase)))
            {
                Console.WriteLine(line);
            }

            using var a = BenchHttp.CreateHttp(child.Url, 128, ChildServer.ReadCredential(dataDir, "tenantKey"));
            using var admin = BenchHttp.CreateHttp(child.Url, 4, ChildServer.ReadCredential(dataDir, "adminKey"));
            using var b = BenchHttp.CreateHttp(child.Url, concurrency, await CreateTenantKeyAsync(admin, cancellationToken));
            var hold = (int)Math.Ceiling(((duration.TotalSeconds + 2) * Operations.Length) + 30);
            await DeployAsync(a, "sleeper", SleeperBody(hold + 30), cancellationToken);
            await DeployAsync(b, "adder", FunctionBenchBundle.DeployBody("python3", 0), cancellationToken);
            var tokens = await BenchHttp.SeedTokensAsync(b, 1000, cancellationToken);
            var send = Sends(b, tokens);

            // Unmeasured: B's sandbox and the JIT.
            foreach (var operation in Operations)
            {
                await LoadRun.RunAsync($"B {operation} warm-up", concurrency, TimeSpan.FromSeconds(2), null, 1, send[operation], cancellationToken);
            }

            foreach (var operation in Operations)
            {
                alone.Add(await LoadRun.RunAsync($"B {operation} alone", concurrency, duration, null, 1, send[operation], cancellationToken));
            }

            using var stopFlood = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var flooding = FloodAsync(a, hold, flood, stopFlood.Token);
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken); // A's sandboxes start; its queue fills
            foreach (var operation in Operations)
            {
                flooded.Add(await LoadRun.RunAsync($"B {operation} during A's flood", concurrency, duration, null, 1, send[operation], cancellationToken));
            }

            await stopFlood.CancelAsync();
            await flooding;
        }
        finally
        {
            BenchHttp.TryDelete(dataDir);
        }

        Print(concurrency, alone, flooded, flood);
        return 0;
    }

    private static Dictionary<string, Func<int, CancellationToken, Task<bool>>> Sends(HttpClient b, List<string> tokens) => new()
    {
        ["create"] = (i, ct) => BenchHttp.PostAsync(b, "v1/tokens", BenchHttp.CreateBody(i), ct),
        ["reveal"] = (i, ct) => BenchHttp.PostAsync(b, $"v1/tokens/{tokens[i % tokens.Count]}/reveal", "", ct),
        ["invoke"] = (i, ct) => BenchHttp.PostAsync(b, "v1/functions/adder/invoke", $"{{\"args\":{{\"n\":{i}}}}}", ct),
    };

    /// <summary>A keeps submitting sleeping invocations: whenever it is refused (429) it waits a moment and tries again.</summary>
    private static async Task FloodAsync(HttpClient a, int holdSeconds, FloodCounts counts, CancellationToken cancellationToken)
    {
        var body = $"{{\"args\":{{\"hold\":{holdSeconds}}}}}";
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using var content = new StringContent(body, Encoding.UTF8, "application/json");
                using var response = await a.PostAsync("v1/functions/sleeper/invoke?mode=async", content, cancellationToken);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    Interlocked.Increment(ref counts.Accepted);
                }
                else if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    Interlocked.Increment(ref counts.Refused);
                    await Task.Delay(200, cancellationToken);
                }
                else
                {
                    Interlocked.Increment(ref counts.Other);
                    await Task.Delay(200, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The measured phases are over.
        }
    }

    private static async Task<string> CreateTenantKeyAsync(HttpClient admin, CancellationToken cancellationToken)
    {
        using var tenant = await admin.PostAsync("v1/tenants", new StringContent("{\"name\":\"bench-b\"}", Encoding.UTF8, "application/json"), cancellationToken);
        tenant.EnsureSuccessStatusCode();
        var id = JsonDocument.Parse(await tenant.Content.ReadAsStringAsync(cancellationToken)).RootElement.GetProperty("id").GetString();
        using var key = await admin.PostAsync($"v1/tenants/{id}/apikeys", new StringContent("{\"scopes\":[\"tokens:write\",\"tokens:reveal\",\"functions:deploy\",\"functions:invoke\"]}", Encoding.UTF8, "application/json"), cancellationToken);
        key.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await key.Content.ReadAsStringAsync(cancellationToken)).RootElement.GetProperty("key").GetString()!;
    }

    /// <summary>The issue's attacker: a function that sleeps as long as it is told, 64 at once, for up to <paramref name="wallSeconds"/>.</summary>
    private static string SleeperBody(int wallSeconds)
    {
        var bundle = FunctionBenchBundle.TarGz("main.py", "import time\n\ndef handle(event, ctx):\n    time.sleep(event[\"hold\"])\n    return {\"slept\": event[\"hold\"]}\n");
        return JsonSerializer.Serialize(new
        {
            manifest = new { runtime = "python3", entrypoint = "main.py", limits = new { concurrency = 64, wallTimeoutSeconds = wallSeconds, cpuSeconds = 10 } },
            bundle = Convert.ToBase64String(bundle),
        });
    }

    private static async Task DeployAsync(HttpClient http, string name, string body, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PutAsync($"v1/functions/{name}", content, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new CliException($"deploy of {name} answered {(int)response.StatusCode}.");
        }
    }

    private static void Print(int concurrency, List<LoadResult> alone, List<LoadResult> flooded, FloodCounts flood)
    {
        Console.WriteLine();
        Console.WriteLine($"Tenant B, {concurrency} clients, alone and while tenant A floods the server with sleeping invocations (A: {flood.Accepted} accepted, {flood.Refused} refused with 429, {flood.Other} other answers)");
        Console.WriteLine();
        Console.WriteLine("| B's operation | alone req/s | alone p50 ms | alone p99 ms | during flood req/s | during flood p50 ms | during flood p99 ms | errors during flood |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < alone.Count; i++)
        {
            var (x, y) = (alone[i], flooded[i]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {Operations[i]} | {x.RequestsPerSecond:N0} | {x.P50Ms:0.00} | {x.P99Ms:0.00} | {y.RequestsPerSecond:N0} | {y.P50Ms:0.00} | {y.P99Ms:0.00} | {y.Errors} |"));
        }
    }

    private sealed class FloodCounts
    {
        public long Accepted;
        public long Refused;
        public long Other;
    }
}
