using System.Globalization;
using System.Text;
using System.Text.Json;
using Cloister.Attestation.Policy;
using Cloister.Client;

namespace Cloister.Cli.Bench;

/// <summary>
/// cloister bench sealed: one client against one real <c>serve</c> child (default sandbox) invoking the trivial Python
/// function through the Client SDK, plain (<see cref="CloisterClient.InvokeFunctionAsync"/>) and sealed
/// (<see cref="CloisterClient.InvokeSealedAsync"/>) with the SDK's default reuse of a verified attestation and with
/// an attestation on every call (<see cref="CloisterClient.AttestationMaxAge"/> zero), plus the attestation step alone
/// (<see cref="CloisterClient.AttestAsync"/>). Phases alternate (plain, sealed, …) to spread the machine's noise.
/// Goal (issue 5): sealed adds at most 1 ms at p50.
/// </summary>
internal static class SealedBench
{
    private static readonly string[] Phases = ["plain", "sealed", "sealed, attest every call", "attest only"];

    public static async Task<int> RunAsync(TimeSpan duration, int rounds, CancellationToken cancellationToken)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "cloister-bench-sealed-" + Guid.NewGuid().ToString("N")[..8]);
        var results = Phases.ToDictionary(p => p, _ => new List<LoadResult>());
        try
        {
            await using var child = await ChildServer.StartAsync(["serve", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0"], cancellationToken);
            var key = ChildServer.ReadCredential(dataDir, "tenantKey");
            if (!AttestationPolicyFile.TryLoad(Path.Combine(dataDir, CliSettings.PolicyFileName), out var policy, out var error))
            {
                throw new CliException(error);
            }

            using var http = BenchHttp.CreateHttp(child.Url, 1, null);
            var client = new CloisterClient(http, key);
            var attesting = new CloisterClient(http, key) { AttestationMaxAge = TimeSpan.Zero };
            var name = "bench-sealed-" + Guid.NewGuid().ToString("N")[..6];
            var measurement = await DeployAsync(http, name, cancellationToken);
            var args = JsonDocument.Parse("{\"n\":1}").RootElement;
            var send = new Dictionary<string, Func<int, CancellationToken, Task<bool>>>
            {
                ["plain"] = async (_, ct) => (await client.InvokeFunctionAsync(name, args, null, ct)).Status == "succeeded",
                ["sealed"] = async (_, ct) => (await client.InvokeSealedAsync(name, args, policy, measurement, ct)) is not null,
                ["sealed, attest every call"] = async (_, ct) => (await attesting.InvokeSealedAsync(name, args, policy, measurement, ct)) is not null,
                ["attest only"] = async (_, ct) => (await client.AttestAsync(policy, ct)) is not null,
            };

            // Unmeasured: start the sandbox and let the JIT compile both paths.
            foreach (var phase in Phases)
            {
                await LoadRun.RunAsync($"{phase} warm-up", 1, TimeSpan.FromSeconds(Math.Min(2, duration.TotalSeconds)), null, 1, send[phase], cancellationToken);
            }

            for (var round = 0; round < rounds; round++)
            {
                foreach (var phase in Phases)
                {
                    results[phase].Add(await LoadRun.RunAsync($"{phase} #{round + 1}", 1, duration, null, 1, send[phase], cancellationToken));
                }
            }
        }
        finally
        {
            BenchHttp.TryDelete(dataDir);
        }

        PrintTable(results);
        return results.Values.SelectMany(r => r).Any(r => r.Errors > 0) ? 1 : 0;
    }

    private static async Task<string> DeployAsync(HttpClient http, string name, CancellationToken cancellationToken)
    {
        using var content = new StringContent(FunctionBenchBundle.DeployBody("python3", 0), Encoding.UTF8, "application/json");
        using var response = await http.PutAsync($"v1/functions/{name}", content, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new CliException($"deploy answered {(int)response.StatusCode}.");
        }

        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return answer.RootElement.GetProperty("measurement").GetString()!;
    }

    private static void PrintTable(Dictionary<string, List<LoadResult>> results)
    {
        static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

        // Per phase: the median of the rounds' p50s (and p99s), throughput over all rounds.
        static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length == 0 ? double.NaN : sorted[(sorted.Length - 1) / 2];
        }

        var plainP50 = Median(results["plain"].Select(r => r.P50Ms));
        Console.WriteLine();
        Console.WriteLine("| phase | clients | rounds | invocations/s | p50 ms | p99 ms | errors | p50 vs plain |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (phase, runs) in results)
        {
            var p50 = Median(runs.Select(r => r.P50Ms));
            var rate = runs.Sum(r => r.Requests) / runs.Sum(r => r.Seconds);
            var delta = phase == "plain" ? "" : F($"{p50 - plainP50:+0.00;-0.00} ms");
            Console.WriteLine(F($"| {phase} | 1 | {runs.Count} | {rate:N0} | {p50:0.00} | {Median(runs.Select(r => r.P99Ms)):0.00} | {runs.Sum(r => r.Errors)} | {delta} |"));
        }

        Console.WriteLine();
        Console.WriteLine("p50/p99: median over the rounds of each round's percentile. sealed: InvokeSealedAsync reusing a verified attestation (the SDK default); "
            + "attest every call: AttestationMaxAge zero; attest only: AttestAsync alone (GET /v1/attestation + verify). Goal (issue 5): sealed adds <= 1 ms at p50.");
    }
}
