using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// serve leaves nothing behind: a clean stop removes every sandbox (cgroups, runsc bundles and state) and its ring file; a
/// worker killed while serve runs has its sandboxes removed by its replacement; and after everything was killed, the next
/// start removes what the dead instance left. Only this test's own processes' resources are looked at (other servers and
/// test runs share the machine). Not run beside other tests: every serve start sweeps what dead instances left, so another
/// test's server starting between this test's kill and its look would remove the leftovers this test expects to find.
/// </summary>
[Collection(nameof(LeftoverCollection))]
public sealed class LeftoverTests
{
    private const int Warm = 6;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>Sleeps as asked: several at once make as many warm sandboxes, and a long one keeps its sandbox busy.</summary>
    private static readonly string Sleeper = FunctionBundles.Python(
        "import time\n\ndef handle(event, ctx):\n    time.sleep(event['seconds'])\n    return {'slept': event['seconds']}\n",
        limits: new { wallTimeoutSeconds = 600, concurrency = 8 });

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task CleanStop_WithWarmAndBusySandboxes_LeavesNoneOfThem_NorItsRing(string backend)
    {
        using var data = TempDirectory.Create("leftover-stop");
        var server = await ServerProcess.StartAsync(data.Path, "--sandbox", backend);
        string worker;
        string ring;
        try
        {
            worker = SandboxResources.OwnerOf(ServeChildren.WorkerPid(server));
            ring = ServeChildren.RingPath(server);
            using var http = await WarmUpAsync(server, data.Path);
            Assert.NotEmpty(SandboxResources.Of(worker));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        var exitCode = await server.StopAsync(Patience);
        await server.DisposeAsync();

        Assert.Equal(0, exitCode);
        await SandboxResources.AssertNoneLeftAsync(worker, TimeSpan.Zero);
        Assert.False(File.Exists(ring), $"{ring} is left behind");
    }

    [Fact]
    public async Task WorkerKilled_ItsSandboxes_AreRemovedByItsReplacement()
    {
        using var data = TempDirectory.Create("leftover-worker");
        await using var server = await ServerProcess.StartAsync(data.Path);
        var killed = ServeChildren.WorkerPid(server);
        var worker = SandboxResources.OwnerOf(killed);
        using (var http = await WarmUpAsync(server, data.Path))
        {
            Assert.NotEmpty(SandboxResources.Of(worker));
        }

        await ServeChildren.SignalAsync(killed, "KILL"); // the worker alone: its gVisor sandboxes keep running
        await ServeChildren.WaitForNewPidAsync(server, ServeChildren.WorkerPid, killed, Patience);

        await SandboxResources.AssertNoneLeftAsync(worker, Patience);
    }

    [Fact]
    public async Task EverythingKilled_TheNextStart_RemovesWhatTheDeadInstanceLeft()
    {
        using var data = TempDirectory.Create("leftover-all");
        var first = await ServerProcess.StartAsync(data.Path);
        var workerPid = ServeChildren.WorkerPid(first);
        var brokerPid = ServeChildren.BrokerPid(first);
        var worker = SandboxResources.OwnerOf(workerPid);
        var ring = ServeChildren.RingPath(first);
        using (var http = await WarmUpAsync(first, data.Path))
        {
            Assert.NotEmpty(SandboxResources.Of(worker));
        }

        // No shutdown code runs anywhere: the worker is stopped (so that it cannot act on serve's end), serve killed, then the worker.
        await ServeChildren.SignalAsync(workerPid, "STOP");
        await first.KillAsync();
        await ServeChildren.SignalAsync(workerPid, "KILL");
        await first.DisposeAsync();
        await ServeChildren.WaitForExitAsync(workerPid, Patience);
        await ServeChildren.WaitForExitAsync(brokerPid, Patience);
        Assert.True(File.Exists(ring), "the ring of the killed serve is already gone: nothing left to sweep");
        Assert.NotEmpty(SandboxResources.Of(worker));

        await using var next = await ServerProcess.StartAsync(data.Path);

        await SandboxResources.AssertNoneLeftAsync(worker, Patience);
        Assert.False(File.Exists(ring), $"{ring} is left behind");
    }

    /// <summary>
    /// Deploys the sleeper, warms six sandboxes, then starts seven ten-minute invocations: they take the six warm ones and
    /// start a seventh, so once seven exist all of them are busy (stopping them one after the other took serve over its
    /// 10 s grace for the worker, which then died with them still there). Returns the client.
    /// </summary>
    private static async Task<HttpClient> WarmUpAsync(ServerProcess server, string dataDirectory)
    {
        var worker = SandboxResources.OwnerOf(ServeChildren.WorkerPid(server));
        var key = ServeChildren.TenantKey(dataDirectory);
        var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = Patience };
        using (var deployed = await ServeChildren.SendAsync(http, HttpMethod.Put, "/v1/functions/sleeper", key, Sleeper))
        {
            Assert.Equal(201, (int)deployed.StatusCode);
        }

        var warm = await Task.WhenAll(Enumerable.Range(0, Warm).Select(_ => ServeChildren.SendAsync(http, HttpMethod.Post, "/v1/functions/sleeper/invoke", key, """{"args":{"seconds":1}}""")));
        foreach (var response in warm)
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            response.Dispose();
        }

        for (var i = 0; i <= Warm; i++)
        {
            using var busy = await ServeChildren.SendAsync(http, HttpMethod.Post, "/v1/functions/sleeper/invoke?mode=async", key, """{"args":{"seconds":600}}""");
            Assert.Equal(202, (int)busy.StatusCode);
        }

        var deadline = DateTime.UtcNow + Patience;
        while (SandboxResources.Sandboxes(worker) <= Warm)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the worker started {SandboxResources.Sandboxes(worker)} sandboxes, not {Warm + 1}");
            await Task.Delay(100);
        }

        return http;
    }
}

[CollectionDefinition(nameof(LeftoverCollection), DisableParallelization = true)]
public sealed class LeftoverCollection;
