using System.Collections.Concurrent;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Processes;

/// <summary>serve restarts its enclave worker and key broker when they die, and loses no acknowledged write.</summary>
public sealed class WorkerCrashTests
{
    private static readonly TimeSpan RestartTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task WorkerKilledDuringTokenizeLoad_Answers503Retryable_ThenRecovers_AndEvery201Reveals()
    {
        using var data = TempDirectory.Create("worker-crash");
        await using var server = await ServerProcess.StartAsync(data.Path);
        var key = ServeChildren.TenantKey(data.Path);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) };
        var oldWorker = ServeChildren.WorkerPid(server);

        var acknowledged = new ConcurrentBag<(string Token, string Value)>();
        var unavailable = 0;
        var acknowledgedAfterRestart = 0;
        var restarted = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        async Task LoadAsync(int worker)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var value = $"crash-{worker}-{i}-{Guid.NewGuid():N}";
                var (status, body, retryAfter) = await ServeChildren.TokenizeAsync(http, key, value);
                if (status == 201)
                {
                    acknowledged.Add((body.GetProperty("token").GetString()!, value));
                    if (Volatile.Read(ref restarted) == 1 && Interlocked.Increment(ref acknowledgedAfterRestart) >= 50)
                    {
                        await stop.CancelAsync();
                    }

                    continue;
                }

                // Anything but a retryable 503 while the worker restarts fails the test.
                Assert.True(status == 503, $"tokenize answered {status}: {body}");
                Assert.Equal("worker-unavailable", body.GetProperty("code").GetString());
                Assert.True(body.GetProperty("retryable").GetBoolean());
                Assert.Equal("1", retryAfter);
                Interlocked.Increment(ref unavailable);
                await Task.Delay(20);
            }
        }

        var load = Enumerable.Range(0, 4).Select(LoadAsync).ToArray();
        while (acknowledged.Count < 100 && !load.Any(t => t.IsCompleted))
        {
            await Task.Delay(20);
        }

        System.Diagnostics.Process.GetProcessById(oldWorker).Kill(); // SIGKILL
        var newWorker = await ServeChildren.WaitForNewPidAsync(server, ServeChildren.WorkerPid, oldWorker, RestartTimeout);
        Volatile.Write(ref restarted, 1);
        await Task.WhenAll(load);

        Assert.NotEqual(oldWorker, newWorker);
        Assert.False(ServeChildren.IsAlive(oldWorker));
        Assert.True(unavailable > 0, "no request met the dead worker; the kill came too late to test anything.");
        Assert.True(acknowledgedAfterRestart >= 50, $"only {acknowledgedAfterRestart} creates succeeded after the restart.");
        foreach (var (token, value) in acknowledged)
        {
            Assert.Equal(value, await ServeChildren.RevealEventuallyAsync(http, key, token, RestartTimeout));
        }

        Assert.Contains("WARNING: the enclave worker (pid", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BrokerKilled_IsRestarted_AndARestartedWorkerStillLoadsKeys()
    {
        using var data = TempDirectory.Create("broker-crash");
        await using var server = await ServerProcess.StartAsync(data.Path);
        var key = ServeChildren.TenantKey(data.Path);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) };
        var (status, body, _) = await ServeChildren.TokenizeAsync(http, key, "broker-crash-value");
        Assert.Equal(201, status);
        var token = body.GetProperty("token").GetString()!;

        var oldBroker = ServeChildren.BrokerPid(server);
        System.Diagnostics.Process.GetProcessById(oldBroker).Kill();
        var newBroker = await ServeChildren.WaitForNewPidAsync(server, ServeChildren.BrokerPid, oldBroker, RestartTimeout);
        Assert.NotEqual(oldBroker, newBroker);

        // A new worker holds no keys: revealing needs the restarted broker to release them again.
        var oldWorker = ServeChildren.WorkerPid(server);
        System.Diagnostics.Process.GetProcessById(oldWorker).Kill();
        await ServeChildren.WaitForNewPidAsync(server, ServeChildren.WorkerPid, oldWorker, RestartTimeout);
        Assert.Equal("broker-crash-value", await ServeChildren.RevealEventuallyAsync(http, key, token, RestartTimeout));
        Assert.Equal(201, (await ServeChildren.TokenizeAsync(http, key, "after-broker-restart")).Status);
    }

    [Fact]
    public async Task ServeKilled_ItsWorkerAndBrokerExitToo()
    {
        using var data = TempDirectory.Create("serve-killed");
        var server = await ServerProcess.StartAsync(data.Path);
        var worker = ServeChildren.WorkerPid(server);
        var broker = ServeChildren.BrokerPid(server);
        await server.KillAsync(); // SIGKILL: serve runs no shutdown code; the children see EOF on stdin.
        await server.DisposeAsync();
        await ServeChildren.WaitForExitAsync(worker, TimeSpan.FromSeconds(30));
        await ServeChildren.WaitForExitAsync(broker, TimeSpan.FromSeconds(30));
    }
}
