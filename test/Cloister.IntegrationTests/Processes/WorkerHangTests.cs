using System.Net.Http.Json;
using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// serve's health check of its worker: /readyz names a worker that does not answer, a hung worker (SIGSTOP) is killed
/// and restarted, and a worker that is merely busy is left alone.
/// </summary>
/// <remarks>
/// Small intervals keep these fast: a ping every 1 s, 2 s each, 3 misses in a row, so a hung worker is killed after
/// 3 to 9 s. The waits are far longer (this machine may be loaded); nothing asserts how long anything took.
/// </remarks>
public sealed class WorkerHangTests
{
    private static readonly string[] FastHealthCheck = ["--worker-health-interval", "1s", "--worker-health-timeout", "2s", "--worker-health-failures", "3"];
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task WorkerStopped_ReadyzNamesTheWorker_ThenItIsKilledAndRestarted_AndServesAgain()
    {
        using var data = TempDirectory.Create("worker-hang");
        await using var server = await ServerProcess.StartAsync(data.Path, FastHealthCheck);
        var key = ServeChildren.TenantKey(data.Path);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) };
        var (status, body, _) = await ServeChildren.TokenizeAsync(http, key, "before-the-hang");
        Assert.Equal(201, status);
        var token = body.GetProperty("token").GetString()!;
        await WaitForReadyzAsync(http, 200);

        var hung = ServeChildren.WorkerPid(server);
        await ServeChildren.SignalAsync(hung, "STOP");
        try
        {
            var problem = await WaitForReadyzAsync(http, 503);
            Assert.Equal("not-ready", problem.GetProperty("code").GetString());
            Assert.Equal(["worker"], problem.GetProperty("components").EnumerateArray().Select(c => c.GetString()));

            var restarted = await ServeChildren.WaitForNewPidAsync(server, ServeChildren.WorkerPid, hung, Patience);
            Assert.NotEqual(hung, restarted);
            await ServeChildren.WaitForExitAsync(hung, Patience);
            Assert.Contains($"WARNING: the enclave worker (pid {hung}) is hung: 3 health pings in a row went unanswered", server.Output, StringComparison.Ordinal);

            await WaitForReadyzAsync(http, 200);
            Assert.Equal("before-the-hang", await ServeChildren.RevealEventuallyAsync(http, key, token, Patience));
            Assert.Equal(201, (await ServeChildren.TokenizeAsync(http, key, "after-the-hang")).Status);
        }
        finally
        {
            if (ServeChildren.IsAlive(hung))
            {
                await ServeChildren.SignalAsync(hung, "KILL"); // a stopped process would never see serve's EOF
            }
        }
    }

    [Fact]
    public async Task WorkerBusyWithALongInvocation_IsNotRestarted()
    {
        using var data = TempDirectory.Create("worker-busy");
        await using var server = await ServerProcess.StartAsync(data.Path, FastHealthCheck);
        var key = ServeChildren.TenantKey(data.Path);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromMinutes(3) };
        var worker = ServeChildren.WorkerPid(server);
        var deploy = FunctionBundles.Python("import time\n\ndef handle(event, ctx):\n    time.sleep(event['seconds'])\n    return {'slept': event['seconds']}\n", limits: new { wallTimeoutSeconds = 120 });
        using (var deployed = await ServeChildren.SendAsync(http, HttpMethod.Put, "/v1/functions/sleeper", key, deploy))
        {
            Assert.Equal(201, (int)deployed.StatusCode);
        }

        // 20 s of sleep: more than twice the longest hang window (3 × (1 s + 2 s)).
        var invocation = ServeChildren.SendAsync(http, HttpMethod.Post, "/v1/functions/sleeper/invoke", key, "{\"args\":{\"seconds\":20}}");
        var readyWhileBusy = 0;
        while (!invocation.IsCompleted)
        {
            using var ready = await http.GetAsync("/readyz");
            readyWhileBusy += ready.IsSuccessStatusCode ? 1 : 0;
            await Task.WhenAny(invocation, Task.Delay(500));
        }

        using var result = await invocation;
        var text = await result.Content.ReadAsStringAsync();
        Assert.True(result.IsSuccessStatusCode, text);
        Assert.Equal(20, JsonDocument.Parse(text).RootElement.GetProperty("result").GetProperty("slept").GetInt32());
        Assert.True(readyWhileBusy > 0, "/readyz never answered 200 while the worker was busy.");
        Assert.Equal(worker, ServeChildren.WorkerPid(server));
        Assert.True(ServeChildren.IsAlive(worker));
        Assert.DoesNotContain("is hung", server.Output, StringComparison.Ordinal);
    }

    /// <summary>Polls /readyz until it answers <paramref name="status"/>; returns its body (problem details for 503).</summary>
    private static async Task<JsonElement> WaitForReadyzAsync(HttpClient http, int status)
    {
        var deadline = DateTime.UtcNow + Patience;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync("/readyz");
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if ((int)response.StatusCode == status)
            {
                return status == 200 ? default : await response.Content.ReadFromJsonAsync<JsonElement>();
            }

            await Task.Delay(200);
        }

        Assert.Fail($"/readyz did not answer {status} within {Patience}; last: {last}");
        return default;
    }
}
