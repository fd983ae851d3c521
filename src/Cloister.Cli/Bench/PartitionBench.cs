using System.Globalization;
using Cloister.Server;
using Cloister.Server.Hosting;
using Microsoft.Extensions.Hosting;

namespace Cloister.Cli.Bench;

/// <summary>
/// cloister bench partition: create and reveal throughput through the partition (<c>serve</c>: router, worker and
/// key broker in their own processes, router ↔ worker over the ring, and over loopback HTTP for comparison)
/// against the in-process build (router, enclave and broker in one process, <see cref="InProcessPartition"/>),
/// each a child server, one after the other, in the same run. Goal: the partition keeps ≥ 80% of in-process.
/// </summary>
internal static class PartitionBench
{
    /// <summary>The hidden command that serves the in-process build (the baseline).</summary>
    public const string InProcessServerCommand = "inprocess-server";

    public static async Task<int> RunAsync(int concurrency, TimeSpan duration, IReadOnlyList<string> links, CancellationToken cancellationToken)
    {
        var servers = new List<(string Name, string[] Arguments)> { ("in-process", ["bench", InProcessServerCommand]) };
        servers.AddRange(links.Select(link => ($"partition ({link})", new[] { "serve", "--worker-transport", link })));
        var rows = new List<(string Server, LoadResult Create, LoadResult Reveal)>();
        foreach (var (name, arguments) in servers)
        {
            Console.Error.WriteLine($"bench: {name}");
            var dataDir = Path.Combine(Path.GetTempPath(), "cloister-bench-" + Guid.NewGuid().ToString("N")[..8]);
            try
            {
                await using var server = await ChildServer.StartAsync([.. arguments, "--data-dir", dataDir, "--urls", "http://127.0.0.1:0"], cancellationToken);
                using var http = BenchHttp.CreateHttp(server.Url, concurrency, ChildServer.ReadCredential(dataDir, "tenantKey"));

                // Unmeasured: JIT, the worker's first attestation and key release, SQLite's first pages, on every server alike.
                await LoadRun.RunAsync($"{name} warm-up", concurrency, TimeSpan.FromSeconds(Math.Min(2, duration.TotalSeconds)), null, 1, (i, ct) => BenchHttp.PostAsync(http, "v1/tokens", BenchHttp.CreateBody(i), ct), cancellationToken);
                var create = await LoadRun.RunAsync($"{name} create", concurrency, duration, null, 1, (i, ct) => BenchHttp.PostAsync(http, "v1/tokens", BenchHttp.CreateBody(i), ct), cancellationToken);
                var tokens = await BenchHttp.SeedTokensAsync(http, 2_000, cancellationToken);
                var reveal = await LoadRun.RunAsync($"{name} reveal", concurrency, duration, null, 1, (i, ct) => BenchHttp.PostAsync(http, $"v1/tokens/{tokens[i % tokens.Count]}/reveal", "", ct), cancellationToken);
                rows.Add((name, create, reveal));
            }
            finally
            {
                BenchHttp.TryDelete(dataDir);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| server | create req/s | create p50 ms | create p99 ms | reveal req/s | reveal p50 ms | reveal p99 ms | errors | create vs in-process | reveal vs in-process |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var baseline = rows[0];
        foreach (var (name, create, reveal) in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {create.RequestsPerSecond:N0} | {create.P50Ms:0.00} | {create.P99Ms:0.00} | {reveal.RequestsPerSecond:N0} | {reveal.P50Ms:0.00} | {reveal.P99Ms:0.00} | {create.Errors + reveal.Errors} | {create.RequestsPerSecond / baseline.Create.RequestsPerSecond:P0} | {reveal.RequestsPerSecond / baseline.Reveal.RequestsPerSecond:P0} |"));
        }

        return rows.Any(r => r.Create.Errors + r.Reveal.Errors > 0) ? 1 : 0;
    }

    /// <summary>The in-process build: router, enclave and key broker in this one process (the baseline).</summary>
    public static async Task<int> RunInProcessServerAsync(string dataDirectory, IReadOnlyList<string> urls, CancellationToken cancellationToken)
    {
        var options = new ServerOptions { DataDirectory = dataDirectory, Urls = urls.Count > 0 ? [.. urls] : new ServerOptions().Urls };
        await using var enclave = InProcessPartition.Open(dataDirectory);
        await using var host = await CloisterServer.BuildAsync(options, enclave.Transport, null, cancellationToken);
        await host.StartAsync(cancellationToken);
        Console.WriteLine($"cloister: listening on {host.Addresses[0]}");
        await host.App.WaitForShutdownAsync(cancellationToken);
        return 0;
    }
}
