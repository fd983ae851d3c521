using System.CommandLine;
using System.Globalization;
using Cloister.Cli.Bench;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cloister.Cli.Commands;

/// <summary>
/// cloister bench tokens (and bench functions, <see cref="FunctionBench"/>): a load generator against a real server over loopback, with a bare ASP.NET
/// endpoint measured in the same run as the baseline. Starts both servers as child processes unless
/// --url points at a running one.
/// </summary>
internal static class BenchCommand
{
    public static Command Build()
    {
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients (default 32).", DefaultValueFactory = _ => 32 };
        var duration = new Option<int>("--duration") { Description = "Seconds per phase (default 10).", DefaultValueFactory = _ => 10 };
        var batchSize = new Option<int>("--batch-size") { Description = "Items per batch request (default 1000).", DefaultValueFactory = _ => 1000 };
        var tokens = new Command("tokens", "Measure creates, batch creates and reveals per second with p50/p99, beside a bare ASP.NET endpoint.") { concurrency, duration, batchSize };
        tokens.SetHandler((parse, cancellationToken) => RunTokensAsync(parse, parse.GetValue(concurrency), TimeSpan.FromSeconds(parse.GetValue(duration)), parse.GetValue(batchSize), cancellationToken));

        var baseline = new Command("baseline-server", "A bare ASP.NET POST endpoint: the baseline 'bench tokens' starts and measures beside Cloister.");
        baseline.SetHandler((_, cancellationToken) => RunBaselineServerAsync(cancellationToken));
        return new Command("bench", "Load generators.") { tokens, Functions(), Sealed(), Partition(), Isolation(), InProcessServer(), baseline };
    }

    private static Command Partition()
    {
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients (default 32).", DefaultValueFactory = _ => 32 };
        var duration = new Option<int>("--duration") { Description = "Seconds per phase (default 10).", DefaultValueFactory = _ => 10 };
        var links = new Option<string[]>("--worker-transport") { Description = "Router-worker links to measure: ring, http (default: both).", AllowMultipleArgumentsPerToken = true };
        links.AcceptOnlyFromAmong("ring", "http");
        var command = new Command("partition", "Measure creates and reveals per second through the partition (router, worker and key broker processes) against the in-process build, in one run.") { concurrency, duration, links };
        command.SetHandler((parse, cancellationToken) =>
        {
            var clients = parse.GetValue(concurrency);
            var seconds = parse.GetValue(duration);
            if (clients is < 1 or > 1024 || seconds is < 1 or > 3600)
            {
                throw new CliException("--concurrency must be 1-1024 and --duration 1-3600.", 2);
            }

            IReadOnlyList<string> measured = parse.GetValue(links) is { Length: > 0 } named ? named : ["ring", "http"];
            return PartitionBench.RunAsync(clients, TimeSpan.FromSeconds(seconds), measured, cancellationToken);
        });
        return command;
    }

    private static Command Isolation()
    {
        var concurrency = new Option<int>("--concurrency") { Description = "Tenant B's concurrent clients (default 4).", DefaultValueFactory = _ => 4 };
        var duration = new Option<int>("--duration") { Description = "Seconds per phase (default 10).", DefaultValueFactory = _ => 10 };
        var command = new Command("isolation", "Measure one tenant's creates, reveals and invocations alone and while another tenant floods the server with sleeping invocations, in one run.") { concurrency, duration };
        command.SetHandler((parse, cancellationToken) =>
        {
            var clients = parse.GetValue(concurrency);
            var seconds = parse.GetValue(duration);
            if (clients is < 1 or > 64 || seconds is < 1 or > 600)
            {
                throw new CliException("--concurrency must be 1-64 and --duration 1-600.", 2);
            }

            return IsolationBench.RunAsync(clients, TimeSpan.FromSeconds(seconds), cancellationToken);
        });
        return command;
    }

    private static Command Sealed()
    {
        var duration = new Option<int>("--duration") { Description = "Seconds per phase (default 5).", DefaultValueFactory = _ => 5 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of alternating phases (default 2).", DefaultValueFactory = _ => 2 };
        var command = new Command("sealed", "Measure sealed function invocation against plain (one client, Client SDK, one server), attestation separated.") { duration, rounds };
        command.SetHandler((parse, cancellationToken) =>
        {
            var seconds = parse.GetValue(duration);
            var count = parse.GetValue(rounds);
            if (seconds is < 1 or > 3600 || count is < 1 or > 100)
            {
                throw new CliException("--duration must be 1-3600 and --rounds 1-100.", 2);
            }

            return SealedBench.RunAsync(TimeSpan.FromSeconds(seconds), count, cancellationToken);
        });
        return command;
    }

    private static Command InProcessServer()
    {
        var urls = new Option<string[]>("--urls") { Description = "Addresses to listen on (loopback).", AllowMultipleArgumentsPerToken = true };
        var command = new Command(PartitionBench.InProcessServerCommand, "The in-process build (router, enclave and key broker in one process): the baseline 'bench partition' starts and measures beside the partition.") { urls };
        command.SetHandler((parse, cancellationToken) => PartitionBench.RunInProcessServerAsync(Path.GetFullPath(CliSettings.ResolveDataDir(parse)), parse.GetValue(urls) ?? [], cancellationToken));
        return command;
    }

    private static Command Functions()
    {
        var coldRuns = new Option<int>("--cold-runs") { Description = "Cold starts per runtime, each a freshly deployed version (default 5).", DefaultValueFactory = _ => 5 };
        var duration = new Option<int>("--duration") { Description = "Seconds per warm phase (default 10).", DefaultValueFactory = _ => 10 };
        var noBaseline = new Option<bool>("--no-baseline") { Description = $"Skip the baseline server started with {FunctionBench.NoSandboxSwitch}." };
        var sandbox = new Option<string[]>("--sandbox") { Description = "Backends to measure, one server each: runsc, bwrap (default: the server's default).", AllowMultipleArgumentsPerToken = true };
        sandbox.AcceptOnlyFromAmong("runsc", "bwrap");
        var command = new Command("functions", "Measure function cold start, warm latency p50/p99 and throughput at 1, 4 and 16 clients (Python and Node), beside the same handlers run without a sandbox.") { coldRuns, duration, noBaseline, sandbox };
        command.SetHandler((parse, cancellationToken) =>
        {
            var runs = parse.GetValue(coldRuns);
            var seconds = parse.GetValue(duration);
            if (runs is < 1 or > 1000 || seconds is < 1 or > 3600)
            {
                throw new CliException("--cold-runs must be 1-1000 and --duration 1-3600.", 2);
            }

            var url = parse.GetValue(GlobalOptions.Url);
            var key = url is null ? null : CliSettings.From(parse).TenantKey;
            IReadOnlyList<string?> backends = parse.GetValue(sandbox) is { Length: > 0 } named ? named : new string?[] { null };
            return FunctionBench.RunAsync(url, key, backends, runs, TimeSpan.FromSeconds(seconds), !parse.GetValue(noBaseline), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunTokensAsync(ParseResult parse, int concurrency, TimeSpan duration, int batchSize, CancellationToken cancellationToken)
    {
        if (concurrency is < 1 or > 1024 || duration <= TimeSpan.Zero || batchSize is < 1 or > 1000)
        {
            throw new CliException("--concurrency must be 1-1024, --duration positive, --batch-size 1-1000.", 2);
        }

        var results = new List<LoadResult>();
        Console.Error.WriteLine($"bench: {concurrency} clients, {duration.TotalSeconds:0} s per phase");

        await using (var baseline = await ChildServer.StartAsync(["bench", "baseline-server"], cancellationToken))
        {
            using var http = BenchHttp.CreateHttp(baseline.Url, concurrency, null);
            results.Add(await LoadRun.RunAsync("baseline POST", concurrency, duration, null, 1, (_, ct) => BenchHttp.PostAsync(http, "echo", "{\"value\":\"4111111111111111\"}", ct), cancellationToken));
        }

        var explicitUrl = parse.GetValue(GlobalOptions.Url);
        var dataDir = Path.Combine(Path.GetTempPath(), "cloister-bench-" + Guid.NewGuid().ToString("N")[..8]);
        await using var server = explicitUrl is null ? await ChildServer.StartAsync(["serve", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0"], cancellationToken) : null;
        try
        {
            var url = server?.Url ?? explicitUrl!;
            var key = server is null ? CliSettings.From(parse).TenantKey : ChildServer.ReadCredential(dataDir, "tenantKey");
            using var http = BenchHttp.CreateHttp(url, concurrency, key);

            var create = await LoadRun.RunAsync("create", concurrency, duration, null, 1, (i, ct) => BenchHttp.PostAsync(http, "v1/tokens", BenchHttp.CreateBody(i), ct), cancellationToken);
            results.Add(create);
            var batchBody = BenchHttp.BatchBody(batchSize);
            var batchClients = Math.Min(concurrency, 4);
            results.Add(await LoadRun.RunAsync($"batch x{batchSize}", batchClients, duration, null, batchSize, (_, ct) => BenchHttp.PostAsync(http, "v1/tokens/batch", batchBody, ct), cancellationToken));

            var tokens = await BenchHttp.SeedTokensAsync(http, 2_000, cancellationToken);
            var reveal = await LoadRun.RunAsync("reveal", concurrency, duration, null, 1, (i, ct) => BenchHttp.PostAsync(http, $"v1/tokens/{tokens[i % tokens.Count]}/reveal", "", ct), cancellationToken);
            results.Add(reveal);

            results.Add(await LoadRun.RunAsync("create @ half peak", concurrency, duration, create.RequestsPerSecond / 2, 1, (i, ct) => BenchHttp.PostAsync(http, "v1/tokens", BenchHttp.CreateBody(i), ct), cancellationToken));
            results.Add(await LoadRun.RunAsync("reveal @ half peak", concurrency, duration, reveal.RequestsPerSecond / 2, 1, (i, ct) => BenchHttp.PostAsync(http, $"v1/tokens/{tokens[i % tokens.Count]}/reveal", "", ct), cancellationToken));
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync();
                BenchHttp.TryDelete(dataDir);
            }
        }

        PrintTable(results, concurrency);
        return results.Any(r => r.Errors > 0) ? 1 : 0;
    }

    private static void PrintTable(List<LoadResult> results, int concurrency)
    {
        var baseline = results[0].RequestsPerSecond;
        Console.WriteLine();
        Console.WriteLine($"| phase | clients | requests/s | items/s | p50 ms | p99 ms | errors | items/s vs bare endpoint req/s |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var clients = r.Name.StartsWith("batch", StringComparison.Ordinal) ? Math.Min(concurrency, 4) : concurrency;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Name} | {clients} | {r.RequestsPerSecond:N0} | {r.ItemsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.Errors} | {r.ItemsPerSecond / baseline:P0} |"));
        }
    }

    private static async Task<int> RunBaselineServerAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapPost("/echo", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            await reader.ReadToEndAsync();
            return Results.Text("{\"ok\":true}", "application/json");
        });
        await app.StartAsync(cancellationToken);
        Console.WriteLine($"listening on {app.Urls.First()}");
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }
}
