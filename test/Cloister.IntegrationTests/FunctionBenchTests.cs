using System.Globalization;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// <c>cloister serve --sandbox</c> picks the backend, and <c>cloister bench functions</c> measures what it says:
/// every cold-start run is reported cold by the server, and the warm phases run without errors on warm sandboxes.
/// </summary>
/// <remarks>Needs both backends and Debian's python3/node, as the other function tests do (test.sh installs them).</remarks>
public sealed class FunctionBenchTests
{
    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task Serve_WithSandboxOption_RunsFunctionsInThatBackend(string backend)
    {
        using var data = TempDirectory.Create("serve-sandbox");
        await using var server = await ServerProcess.StartAsync(data.Path, "--sandbox", backend);

        Assert.Contains($"functions: sandbox {backend}", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WithUnknownSandbox_IsRefused()
    {
        using var data = TempDirectory.Create("serve-sandbox");

        var result = await CloisterProcess.RunAsync("serve", "--data-dir", data.Path, "--urls", "http://127.0.0.1:0", "--sandbox", "docker");

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("listening on", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchFunctions_ReportsEveryColdRunCold_AndWarmPhasesWithoutErrorsOrColdStarts()
    {
        var result = await CloisterProcess.RunAsync(["bench", "functions", "--cold-runs", "2", "--duration", "1", "--sandbox", "bwrap", "--no-baseline"], timeout: TimeSpan.FromMinutes(3));

        Assert.True(result.ExitCode == 0, result.ToString());
        var rows = result.StdoutLines.Where(l => l.StartsWith("| python3 | bwrap |", StringComparison.Ordinal) || l.StartsWith("| node | bwrap |", StringComparison.Ordinal))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries)[1..^1]).ToList();

        // Cold table: runtime, server, runs, reported cold, p50, max, ratio.
        var cold = rows.Where(r => r.Length == 7).ToList();
        Assert.Equal(2, cold.Count);
        Assert.All(cold, r => Assert.Equal(("2", "2"), (r[2], r[3])));

        // Warm table: runtime, server, clients, inv/s, p50, p99, errors, cold, two ratios.
        var warm = rows.Where(r => r.Length == 10).ToList();
        Assert.Equal(["1", "4", "16", "1", "4", "16"], warm.Select(r => r[2]));
        Assert.All(warm, r =>
        {
            Assert.Equal(("0", "0"), (r[6], r[7]));
            var p50 = double.Parse(r[4], CultureInfo.InvariantCulture);
            Assert.True(p50 > 0 && p50 <= double.Parse(r[5], CultureInfo.InvariantCulture), string.Join(" | ", r));
        });
    }

    [Fact]
    public async Task BenchSealed_MeasuresPlainSealedAndAttestOnly_WithoutErrors()
    {
        var result = await CloisterProcess.RunAsync(["bench", "sealed", "--duration", "1", "--rounds", "1"], timeout: TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, result.ToString());
        // phase, clients, rounds, inv/s, p50, p99, errors, p50 vs plain.
        var rows = result.StdoutLines.Where(l => l.StartsWith("| plain |", StringComparison.Ordinal) || l.StartsWith("| sealed |", StringComparison.Ordinal) || l.StartsWith("| attest only |", StringComparison.Ordinal))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries)[1..^1]).ToList();
        Assert.Equal(["plain", "sealed", "attest only"], rows.Select(r => r[0]));
        Assert.All(rows, r =>
        {
            Assert.Equal("0", r[6]);
            var p50 = double.Parse(r[4], CultureInfo.InvariantCulture);
            Assert.True(p50 > 0 && p50 <= double.Parse(r[5], CultureInfo.InvariantCulture), string.Join(" | ", r));
        });
        Assert.EndsWith(" ms", rows[1][7], StringComparison.Ordinal);
    }
}
