using System.Diagnostics;
using System.Security.Cryptography;
using Xunit.Abstractions;

namespace Cloister.Storage.Tests;

/// <summary>
/// Prints write and read throughput for the router's targets (5,000 single inserts/s, 50,000 tokens/s in
/// 1,000-item batches, 10,000 audit appends/s). Reports only: it asserts that nothing was lost, never a time.
/// Set CLOISTER_STORAGE_THROUGHPUT_SCALE (e.g. 10) for longer, steadier runs.
/// </summary>
public sealed class ThroughputReport(ITestOutputHelper output)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static int Scale => int.TryParse(Environment.GetEnvironmentVariable("CLOISTER_STORAGE_THROUGHPUT_SCALE"), out var s) && s > 0 ? s : 1;

    [Fact]
    public async Task Throughput_IsReported()
    {
        await MeasureAsync(fullSync: false);
        await MeasureAsync(fullSync: true);
    }

    private async Task MeasureAsync(bool fullSync)
    {
        await using var h = await StoreHarness.OpenAsync(fullSync);
        await Make.CreateTenantAsync(h.S, "ten_a");
        var mode = fullSync ? "FullSync" : "default ";
        // Like real tokens: random token strings, fingerprints and deterministic keys, so every index insert
        // lands on a random page (sequential keys would only append, and look several times faster).
        var created = new System.Collections.Concurrent.ConcurrentQueue<string>();
        TokenRecord NewToken()
        {
            var token = "tok_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(10));
            created.Enqueue(token);
            return Make.Token("ten_a", token, deterministicKey: RandomNumberGenerator.GetBytes(32), fingerprint: RandomNumberGenerator.GetBytes(32), ciphertext: RandomNumberGenerator.GetBytes(44));
        }

        // Warm-up (JIT, caches); not reported.
        for (var i = 0; i < 500; i++)
        {
            await h.S.InsertTokensAsync("ten_a", [NewToken()], Make.CreateAudit("ten_a"), None);
        }

        // A lone caller under FullSync waits for an fsync per commit (a few ms): fewer rounds keep the test short.
        var serial = (fullSync ? 300 : 2_000) * Scale;
        var n = serial;
        await ReportAsync($"{mode} single insert, 1 caller  ", n, async () =>
        {
            for (var i = 0; i < n; i++)
            {
                await h.S.InsertTokensAsync("ten_a", [NewToken()], Make.CreateAudit("ten_a"), None);
            }
        });

        n = 20_000 * Scale;
        await ReportAsync($"{mode} single insert, 64 callers", n, () => Parallel(64, n, () => h.S.InsertTokensAsync("ten_a", [NewToken()], Make.CreateAudit("ten_a"), None)));

        var batches = 50 * Scale;
        var prepared = Enumerable.Range(0, batches).Select(_ => Enumerable.Range(0, 1000).Select(_ => NewToken()).ToList()).ToList();
        await ReportAsync($"{mode} 1,000-token batches, 1 caller (tokens)", batches * 1000, async () =>
        {
            foreach (var batch in prepared)
            {
                await h.S.InsertTokensAsync("ten_a", batch, Make.CreateAudit("ten_a"), None);
            }
        });

        n = serial;
        await ReportAsync($"{mode} audit append, 1 caller  ", n, async () =>
        {
            for (var i = 0; i < n; i++)
            {
                await h.S.AppendAuditAsync(Make.Audit("ten_a", "token.reveal", "tok_1"), None);
            }
        });

        n = 30_000 * Scale;
        await ReportAsync($"{mode} audit append, 64 callers", n, () => Parallel(64, n, () => h.S.AppendAuditAsync(Make.Audit("ten_a", "token.reveal", "tok_1"), None)));

        var existing = created.Take(20_000 * Scale).ToList();
        await ReportAsync($"{mode} get token, 1 caller      ", existing.Count, async () =>
        {
            foreach (var token in existing)
            {
                Assert.NotNull(await h.S.GetTokenAsync("ten_a", token, None));
            }
        });

        await h.CloseAsync();
        var verify = Stopwatch.StartNew();
        var result = AuditVerifier.Verify(h.Directory);
        output.WriteLine($"{mode} verify {result.EntryCount:N0} entries: {verify.Elapsed.TotalMilliseconds:N0} ms");
        Assert.True(result.Ok, result.Reason);
    }

    private static async Task Parallel(int callers, int total, Func<Task> operation)
    {
        var remaining = total;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                await operation();
            }
        })));
    }

    private async Task ReportAsync(string what, int count, Func<Task> run)
    {
        // CPU time is reported too: on a shared machine it says more than wall time about the store's own cost.
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.Run(run); // off xunit's synchronization context, like a server's request threads
        var seconds = clock.Elapsed.TotalSeconds;
        process.Refresh();
        var cpuMicroseconds = (process.TotalProcessorTime - cpu).TotalMicroseconds / count;
        output.WriteLine($"{what}: {count / seconds,10:N0}/s wall, {cpuMicroseconds,6:N1} us CPU each ({count:N0} in {seconds * 1000:N0} ms)");
    }
}
