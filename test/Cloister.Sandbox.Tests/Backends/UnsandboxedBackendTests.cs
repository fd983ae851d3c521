using System.Text.Json;
using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Tests.Pool;
using Cloister.Sandbox.Tests.Runner;
using static Cloister.Sandbox.Tests.Pool.PoolHarness;

namespace Cloister.Sandbox.Tests.Backends;

/// <summary>
/// The no-isolation backend (benchmark baseline, development switch) keeps the framing and limits
/// it can, maps sandbox paths to host paths, and runs the repository's sample functions
/// (samples/functions) on the real runners — beside the real sandboxes, so the samples are known to
/// run in each.
/// </summary>
public sealed class UnsandboxedBackendTests
{
    private const string Pan = "4111111111111111";
    private static readonly FunctionKey Key = new("tenant-a", "sample@v1");

    [Fact]
    public async Task Unsandboxed_MapsBindsAndTmp_ToHostPaths_AndPassesOnlyTheSpecEnvironment()
    {
        using var bundle = TempDirectory.Create("sbx", sandboxReadable: true);
        File.WriteAllText(Path.Combine(bundle.Path, "data.txt"), "from the bundle");
        Environment.SetEnvironmentVariable("CLOISTER_TEST_HOST_ONLY", "must-not-leak");
        var script = """
            import json, os, sys
            print(json.dumps({"data": open(sys.argv[1]).read(), "cwd": os.getcwd(), "scratch": os.environ["SCRATCH"],
                              "home": os.environ["HOME"], "leak": "CLOISTER_TEST_HOST_ONLY" in os.environ}))
            """;
        var spec = new SandboxSpec(SandboxHarness.Python)
        {
            Arguments = ["-c", script, "/fn/data.txt"],
            ReadOnlyBinds = new Dictionary<string, string> { [bundle.Path] = "/fn" },
            Environment = new Dictionary<string, string> { ["SCRATCH"] = "/tmp" },
        };

        string cwd;
        await using (var process = await new UnsandboxedBackend().StartAsync(spec, CancellationToken.None))
        {
            await process.Input.DisposeAsync();
            var (output, _) = await SandboxHarness.ReadAllAsync(process.Output);
            var exit = await process.WaitAsync();
            Assert.True(exit.Reason == SandboxExitReason.Exited && exit.ExitCode == 0, exit.StderrTail);

            var seen = JsonDocument.Parse(output).RootElement;
            Assert.Equal("from the bundle", seen.GetProperty("data").GetString());
            cwd = seen.GetProperty("cwd").GetString()!;
            Assert.NotEqual("/tmp", cwd);
            Assert.Equal(cwd, seen.GetProperty("scratch").GetString());
            Assert.Equal(cwd, seen.GetProperty("home").GetString());
            Assert.False(seen.GetProperty("leak").GetBoolean());
        }

        Assert.False(Directory.Exists(cwd), "the private scratch directory outlived the process");
    }

    [Fact]
    public async Task Unsandboxed_SleepingPastTheWallTimeout_IsKilled()
    {
        var spec = SandboxHarness.PythonSpec("import time\ntime.sleep(60)", new SandboxLimits { WallTimeout = TimeSpan.FromSeconds(1) });

        await using var process = await new UnsandboxedBackend().StartAsync(spec, CancellationToken.None);
        var exit = await process.WaitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(SandboxExitReason.WallTimeout, exit.Reason);
    }

    [Fact]
    public async Task Unsandboxed_WritingPastTheOutputCap_IsKilled()
    {
        var spec = SandboxHarness.PythonSpec(
            "import sys\nwhile True:\n    sys.stdout.buffer.write(b'x' * 65536)",
            new SandboxLimits { OutputBytes = 256 * 1024, WallTimeout = TimeSpan.FromSeconds(20) });

        await using var process = await new UnsandboxedBackend().StartAsync(spec, CancellationToken.None);
        var (_, total) = await SandboxHarness.ReadAllAsync(process.Output);
        var exit = await process.WaitAsync();

        Assert.Equal(SandboxExitReason.OutputLimit, exit.Reason);
        Assert.True(total <= 256 * 1024, $"{total} bytes passed the cap");
    }

    [Fact]
    public async Task Unsandboxed_WarmRunner_WipesItsOwnScratch_LeavingHostTmpAndBundleAlone()
    {
        var marker = Path.Combine(Path.GetTempPath(), "cloister-marker-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(marker, "host file");
        try
        {
            using var fixture = new FunctionFixture();
            const string Source = """
                import os
                def handle(event, ctx):
                    open(os.path.join(os.environ["CLOISTER_SCRATCH_DIR"], "left.txt"), "w").write("x")
                    return {"scratch": os.environ["CLOISTER_SCRATCH_DIR"]}
                """;
            await using var function = new SandboxedFunction(new UnsandboxedBackend(), fixture.Define(Key, FunctionRuntimes.Python3, "handler.py", Source));

            var outcome = await function.InvokeAsync(Json("{}"), new FakeHostCalls(), CancellationToken.None);

            Assert.True(outcome.IsSuccess, outcome.ToString());
            var scratch = outcome.Result.GetProperty("scratch").GetString()!;
            Assert.NotEqual("/tmp", scratch);
            Assert.Empty(Directory.EnumerateFileSystemEntries(scratch));
            Assert.True(File.Exists(marker), "the runner's scratch wipe reached the host's /tmp");
            Assert.Equal(["handler.py"], Directory.EnumerateFileSystemEntries(function.Definition.BundleDirectory).Select(Path.GetFileName));
        }
        finally
        {
            File.Delete(marker);
        }
    }

    [Theory]
    [InlineData("none")]
    [InlineData("bwrap")]
    [InlineData("runsc")]
    public async Task CardRiskSample_ScoresTheRevealedCard_AndReturnsOnlyBinAndLast4(string backend)
    {
        using var fixture = new FunctionFixture();
        var hostCalls = new FakeHostCalls();
        hostCalls.Vault["tok_card"] = Pan;
        await using var function = new SandboxedFunction(Backend(backend), Sample(fixture, "card-risk"));

        // As the enclave delivers it: the {"$token"} in the args already replaced by the plaintext.
        var revealed = await function.InvokeAsync(Json($$"""{"card": "{{Pan}}", "amount": 1250, "country": "US"}"""), hostCalls, CancellationToken.None);
        // The other way in: the handler reveals a token itself through ctx.reveal.
        var viaHostCall = await function.InvokeAsync(Json("""{"cardToken": "tok_card", "amount": 250000, "country": "NG"}"""), hostCalls, CancellationToken.None);

        Assert.True(revealed.IsSuccess, revealed.ToString());
        Assert.True(viaHostCall.IsSuccess, viaHostCall.ToString());
        Assert.Equal("approve", revealed.Result.GetProperty("decision").GetString());
        Assert.Equal("decline", viaHostCall.Result.GetProperty("decision").GetString());
        Assert.True(revealed.Result.GetProperty("score").GetDouble() < viaHostCall.Result.GetProperty("score").GetDouble());
        foreach (var outcome in new[] { revealed, viaHostCall })
        {
            Assert.Equal("411111", outcome.Result.GetProperty("bin").GetString());
            Assert.Equal("1111", outcome.Result.GetProperty("last4").GetString());
            Assert.DoesNotContain(Pan, outcome.Result.GetRawText(), StringComparison.Ordinal);
        }

        Assert.Equal(2, hostCalls.Logs.Count);
        Assert.All(hostCalls.Logs, line => Assert.DoesNotContain(Pan, line, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("bwrap")]
    [InlineData("runsc")]
    public async Task PaymentRequestSample_PutsTheCardWhereItsManifestTokenizes(string backend)
    {
        using var fixture = new FunctionFixture();
        var hostCalls = new FakeHostCalls();
        await using var function = new SandboxedFunction(Backend(backend), Sample(fixture, "payment-request"));

        var outcome = await function.InvokeAsync(
            Json($$"""{"card": "{{Pan}}", "exp": "12/29", "amount": "42.50", "currency": "eur", "orderId": "order-1001"}"""), hostCalls, CancellationToken.None);
        var refused = await function.InvokeAsync(
            Json($$"""{"card": "{{Pan}}", "exp": "12/29", "amount": "42.505", "currency": "EUR", "orderId": "order-1001"}"""), hostCalls, CancellationToken.None);

        Assert.True(outcome.IsSuccess, outcome.ToString());
        var body = outcome.Result.GetProperty("body");
        Assert.Equal(4250, body.GetProperty("amount").GetInt32());
        Assert.Equal("EUR", body.GetProperty("currency").GetString());
        Assert.Equal(2029, body.GetProperty("source").GetProperty("exp_year").GetInt32());
        Assert.Matches("^[0-9a-f]{32}$", outcome.Result.GetProperty("idempotencyKey").GetString());

        // The manifest's tokenizeOutput rule names the field that carries the card (format pan), so the enclave tokenizes it on the way out.
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(SamplesDirectory, "payment-request", "cloister.json")));
        var rule = Assert.Single(manifest.RootElement.GetProperty("permissions").GetProperty("tokenizeOutput").EnumerateArray());
        Assert.Equal("pan", rule.GetProperty("format").GetString());
        var field = rule.GetProperty("field").GetString()!.Split('.').Aggregate(outcome.Result, (node, name) => node.GetProperty(name));
        Assert.Equal(Pan, field.GetString());
        Assert.Single(outcome.Result.GetRawText().Split(Pan)[1..]);

        Assert.False(refused.IsSuccess);
        Assert.Equal("handler-error", refused.Error!.Code);
        Assert.True(function.IsReusable);
    }

    /// <summary>samples/functions of this repository.</summary>
    private static string SamplesDirectory { get; } = FindSamples();

    private static ISandboxBackend Backend(string name) => name == UnsandboxedBackend.BackendName ? new UnsandboxedBackend() : SandboxHarness.Backend(name);

    /// <summary>Defines a sample's function from its directory (its entrypoint file and manifest runtime) with test limits.</summary>
    private static FunctionSandboxDefinition Sample(FunctionFixture fixture, string name)
    {
        var directory = Path.Combine(SamplesDirectory, name);
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "cloister.json")));
        var runtime = manifest.RootElement.GetProperty("runtime").GetString()!;
        var entrypoint = manifest.RootElement.GetProperty("entrypoint").GetString()!;
        var memory = manifest.RootElement.GetProperty("limits").GetProperty("memoryMiB").GetInt32();
        var definition = fixture.Define(Key, runtime, entrypoint, File.ReadAllText(Path.Combine(directory, entrypoint)));
        return definition with { Limits = definition.Limits with { MemoryMiB = memory } };
    }

    private static string FindSamples()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cloister.slnx")))
            {
                return Path.Combine(dir.FullName, "samples", "functions");
            }
        }

        throw new DirectoryNotFoundException("samples/functions: no Cloister.slnx above the test assembly.");
    }
}
