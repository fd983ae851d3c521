using System.Diagnostics;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Hostile;

/// <summary>
/// Hostile functions that attack the sandbox's limits or the runner protocol, over HTTP on a real server per
/// backend: each ends in its own clear 422 problem while a well-behaved function of the tenant, invoked while
/// the hostile one runs, keeps answering, and the server keeps serving afterwards.
/// </summary>
public sealed class HostileLimitTests(HostileServers servers) : IClassFixture<HostileServers>
{
    private Task<HostileTenant> TenantAsync(string backend) => HostileTenant.CreateAsync(servers[backend]);

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task AnInfiniteLoop_IsStoppedAtItsCpuLimit(string backend)
    {
        var tenant = await TenantAsync(backend);
        var name = await tenant.DeployPythonAsync("loop", "def handle(event, ctx):\n    while True:\n        pass\n", new { wallTimeoutSeconds = 10, cpuSeconds = 1 });
        var clock = Stopwatch.StartNew();

        await tenant.AssertContainedAsync(name, new { }, "cpu-limit");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}");
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task ASleeperPastTheTimeout_IsKilledAtTheWallTimeout_WhileOthersAreServed(string backend)
    {
        var tenant = await TenantAsync(backend);
        var name = await tenant.DeployPythonAsync("sleep", "import time\ndef handle(event, ctx):\n    time.sleep(60)\n    return {'woke': True}\n", new { wallTimeoutSeconds = 3 });
        var clock = Stopwatch.StartNew();

        var problem = await tenant.AssertContainedAsync(name, new { }, "timeout", outlasts: true);

        Assert.Contains("3 s", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task AMemoryBomb_IsStoppedAtItsMemoryLimit(string backend)
    {
        var tenant = await TenantAsync(backend);
        var name = await tenant.DeployPythonAsync(
            "membomb", "def handle(event, ctx):\n    hoard = []\n    while True:\n        hoard.append(bytearray(1024 * 1024))\n", new { memoryMiB = 64, wallTimeoutSeconds = 10 });

        var problem = await tenant.AssertContainedAsync(name, new { }, "memory-limit");

        Assert.Contains("64 MiB", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task AForkBomb_IsHeldAtThePidsLimit_AndItsSandboxIsNotReused(string backend)
    {
        // Forks until a fork is refused; the refusal raises out of the handler, leaving the children behind. Under gVisor every
        // process lives in the sentry's memory, so at the default 128 MiB the bomb may hit the memory limit before the pids limit.
        const string source = """
            import os, time
            def handle(event, ctx):
                while event.get('bomb'):
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                return {'pid': os.getpid()}
            """;
        var tenant = await TenantAsync(backend);
        var name = await tenant.DeployPythonAsync("forkbomb", source, new { wallTimeoutSeconds = 10 });
        (await tenant.InvokeAsync(name, new { })).Expect(200); // a warm sandbox for the bomb

        await tenant.AssertContainedAsync(name, new { bomb = true }, backend == "runsc" ? ["pids-limit", "memory-limit"] : ["pids-limit"]);

        var after = (await tenant.InvokeAsync(name, new { })).Expect(200).Json;
        Assert.False(after.GetProperty("warm").GetBoolean(), "the fork bomb's sandbox was reused");
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task AForkBombWithMemoryToSpare_IsHeldAtThePidsLimit(string backend)
    {
        // With memory to spare the bomb reaches the pids limit. Under gVisor that limit is enforced inside the sandbox (the
        // host sees no pids event), so the refused fork surfaces in the handler as EAGAIN: a handler-error that says so.
        // Before the host pids limit scaled with the sandbox's, the sentry itself ran out of host threads and died
        // (runner-crashed, "exited with code 2").
        const string source = """
            import os, time
            def handle(event, ctx):
                while True:
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
            """;
        var tenant = await TenantAsync(backend);
        var name = await tenant.DeployPythonAsync("forkbomb-roomy", source, new { memoryMiB = 512, wallTimeoutSeconds = 10 });

        var problem = await tenant.AssertContainedAsync(name, new { }, backend == "runsc" ? ["handler-error"] : ["pids-limit"]);
        if (backend == "runsc")
        {
            Assert.Contains("Resource temporarily unavailable", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task AGigabyteWrittenToStdout_IsStoppedAtTheOutputCap(string backend)
    {
        const string source = """
            import os
            def handle(event, ctx):
                chunk = b'x' * 65536
                for _ in range(16384):
                    os.write(1, chunk)
                return {'finished': True}
            """;
        var tenant = await TenantAsync(backend);
        var name = await tenant.DeployPythonAsync("flood", source, new { outputBytes = 65536, wallTimeoutSeconds = 20 });
        var clock = Stopwatch.StartNew();

        await tenant.AssertContainedAsync(name, new { }, "output-limit");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task AMalformedFrame_OnTheRunnersChannel_IsAMalformedFrameProblem(string backend)
    {
        // The runner keeps the frame channel off fd 1; a hostile handler can still reach it through the runner's module.
        const string source = """
            import __main__, time
            def handle(event, ctx):
                __main__._chan_out.write(b'\x00\x00\x00\x05hello')
                __main__._chan_out.flush()
                time.sleep(60)
            """;
        var tenant = await TenantAsync(backend);
        var name = await tenant.DeployPythonAsync("malformed", source, new { wallTimeoutSeconds = 10 });

        await tenant.AssertContainedAsync(name, new { }, "malformed-frame");
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task TheRunnerCrashingMidCall_IsRunnerCrashed_AndTheNextInvocationWorks(string backend)
    {
        // Crashes right after host calls (a log; a reveal, with the value on stderr) and halfway through writing a frame.
        const string source = """
            import __main__, os, signal, struct, sys
            def handle(event, ctx):
                mode = event.get('mode')
                if mode == 'after-log':
                    ctx.log('about to crash')
                    os._exit(3)
                if mode == 'after-reveal':
                    card = ctx.reveal(event['token'])
                    sys.stderr.write('revealed ' + card + '\n')
                    sys.stderr.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
                if mode == 'mid-frame':
                    __main__._chan_out.write(struct.pack('>I', 200) + b'{"type":"result","id":')
                    __main__._chan_out.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
                return {'ok': True}
            """;
        var tenant = await TenantAsync(backend);
        var card = Values.Card();
        var token = await tenant.Server.CreateTokenAsync(tenant.Tenant.Key, new { value = card, format = "pan", classifier = "card" });
        var name = await tenant.DeployPythonAsync("crash", source, new { wallTimeoutSeconds = 5 }, new { reveal = new[] { "card" } });

        foreach (var mode in new[] { "after-log", "after-reveal", "mid-frame" })
        {
            await tenant.AssertContainedAsync(name, new { mode, token }, "runner-crashed");
            Assert.True((await tenant.ResultAsync(name, new { })).GetProperty("ok").GetBoolean(), mode);
        }

        foreach (var response in tenant.Server.Exchanges)
        {
            ProblemAssert.DoesNotContain(response, card);
        }

        Assert.DoesNotContain(tenant.Server.LogEntries, e => e.Text.Contains(card, StringComparison.Ordinal));
    }
}
