using System.Diagnostics;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// One tenant's long invocations never hold what another tenant's work needs (docs/design/rings.md, "Lanes";
/// docs/api.md, 429): a tenant that floods the worker with sleeping invocations gets its share and a 429 beyond it,
/// while another tenant's creates, reveals and invocations are served promptly by the same worker, which nobody kills.
/// </summary>
public sealed class TenantFairnessTests
{
    private static readonly string[] Serve = ["--worker-health-interval", "1s", "--worker-health-timeout", "2s", "--worker-health-failures", "3", "--warm-max", "4"];

    // Generous liveness bounds for a loaded 2-core machine; the flood would hold B for the whole 40 s sleep (and get the
    // worker killed) if it could. Nothing asserts how fast anything was.
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task ATenantFloodingWithSleepingInvocations_GetsItsShareAnd429_WhileAnotherIsServedPromptly_AndNothingIsKilled()
    {
        using var data = TempDirectory.Create("fairness");
        await using var server = await ServerProcess.StartAsync(data.Path, Serve);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromMinutes(2) };
        using var prompt = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = Prompt };
        var flooder = ServeTenant.Default(http, data.Path);
        var other = await ServeTenant.CreateAsync(http, data.Path, "other");
        var worker = ServeChildren.WorkerPid(server);
        await flooder.DeployAsync("sleeper", FunctionBundles.Python(
            "import time\n\ndef handle(event, ctx):\n    time.sleep(event['seconds'])\n    return {'slept': event['seconds']}\n",
            limits: new { concurrency = 64, wallTimeoutSeconds = 70 }));
        await other.DeployAsync("adder", FunctionBundles.Python("def handle(event, ctx):\n    return {'sum': event['a'] + event['b']}\n"));
        using (var warm = await other.SendAsync(HttpMethod.Post, "/v1/functions/adder/invoke", "{\"args\":{\"a\":1,\"b\":2}}"))
        {
            await ServeTenant.Expect(warm, 200);
        }

        // 16 run (the per-tenant default), 64 wait (the per-tenant queue); the 81st is refused and nothing is recorded for it.
        var accepted = new List<string>();
        for (var i = 0; i < 80; i++)
        {
            using var started = await flooder.SendAsync(HttpMethod.Post, "/v1/functions/sleeper/invoke?mode=async", "{\"args\":{\"seconds\":40}}");
            accepted.Add((await ServeTenant.Expect(started, 202)).GetProperty("invocationId").GetString()!);
        }

        using (var refused = await flooder.SendAsync(HttpMethod.Post, "/v1/functions/sleeper/invoke?mode=async", "{\"args\":{\"seconds\":40}}"))
        {
            var problem = await ServeTenant.Expect(refused, 429);
            Assert.Equal("tenant-busy", problem.GetProperty("code").GetString());
            Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {refused.Headers.RetryAfter}");
        }

        // While the flood sleeps: the other tenant's creates, reveals and invocations, one after the other, for 10 s.
        var servedFor = Stopwatch.StartNew();
        var rounds = 0;
        var promptOther = new ServeTenant(prompt, other.Key);
        while (servedFor.Elapsed < TimeSpan.FromSeconds(10))
        {
            var (status, body, _) = await ServeChildren.TokenizeAsync(prompt, other.Key, "other-" + rounds);
            Assert.Equal(201, status);
            Assert.Equal("other-" + rounds, (await ServeChildren.RevealAsync(prompt, other.Key, body.GetProperty("token").GetString()!)).Value);
            using var invoked = await promptOther.SendAsync(HttpMethod.Post, "/v1/functions/adder/invoke", $"{{\"args\":{{\"a\":{rounds},\"b\":1}}}}");
            Assert.Equal(rounds + 1, (await ServeTenant.Expect(invoked, 200)).GetProperty("result").GetProperty("sum").GetInt32());
            rounds++;
        }

        // The flood is still there, running and waiting, not failed; the worker was neither killed nor replaced.
        using (var first = await flooder.SendAsync(HttpMethod.Get, "/v1/invocations/" + accepted[0]))
        {
            Assert.Equal("running", (await ServeTenant.Expect(first, 200)).GetProperty("status").GetString());
        }

        Assert.Equal(worker, ServeChildren.WorkerPid(server));
        Assert.True(ServeChildren.IsAlive(worker));
        Assert.DoesNotContain("is hung", server.Output, StringComparison.Ordinal);
        Assert.True(rounds >= 1);
    }
}
