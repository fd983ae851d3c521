using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Tests.Runner;
using static Cloister.Sandbox.Tests.Pool.PoolHarness;

namespace Cloister.Sandbox.Tests.Pool;

/// <summary>
/// Processes a handler starts do not outlive its invocation: the next invocation of the same warm sandbox finds none of them, and
/// has its whole process limit again. Under gVisor the limit is enforced inside the sandbox, out of the host's sight, so nothing
/// but the reaping after each invocation would clear a fork bomb the handler survived.
/// </summary>
public sealed class ChildProcessReapingTests
{
    private const int Pids = 24;

    /// <summary>
    /// <c>spawn</c>: background sleepers (a child, and an orphan through <c>sh -c '… &amp;'</c>); <c>bomb</c>: forks until refused and
    /// survives it; <c>ps</c>: the other live processes of the sandbox (init aside) and how many children it can still fork.
    /// </summary>
    private const string PythonSpawner = """
        import os, subprocess, time
        def others():
            found = []
            for name in os.listdir("/proc"):
                if name.isdigit() and int(name) not in (1, os.getpid()):
                    try:
                        with open(f"/proc/{name}/stat") as f:
                            stat = f.read()
                    except OSError:
                        continue
                    if stat[stat.rindex(")") + 2] not in "ZX":
                        found.append(stat[stat.index("(") + 1:stat.rindex(")")])
            return sorted(found)
        def handle(event, ctx):
            mode = event["mode"]
            if mode == "spawn":
                subprocess.Popen(["sleep", "1000"])
                subprocess.Popen(["sh", "-c", "sleep 1001 & sleep 1002 &"])
                time.sleep(0.2)
                return others()
            if mode == "bomb":
                forked = 0
                try:
                    while True:
                        if os.fork() == 0:
                            time.sleep(1000)
                            os._exit(0)
                        forked += 1
                except OSError:
                    return forked
            time.sleep(event.get("settle", 0))
            children = []
            try:
                for _ in range(8):
                    pid = os.fork()
                    if pid == 0:
                        os._exit(0)
                    children.append(pid)
            except OSError:
                pass
            for pid in children:
                os.waitpid(pid, 0)
            return {"others": others(), "forked": len(children)}
        """;

    private const string NodeSpawner = """
        const fs = require("fs");
        const { spawn, spawnSync } = require("child_process");
        const others = () => fs.readdirSync("/proc")
          .filter((name) => /^\d+$/.test(name) && ![1, process.pid].includes(Number(name)))
          .map((name) => { try { return fs.readFileSync(`/proc/${name}/stat`, "utf8"); } catch (e) { return null; } })
          .filter((stat) => stat !== null && !"ZX".includes(stat[stat.lastIndexOf(")") + 2]))
          .map((stat) => stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")))
          .sort();
        module.exports = async (event) => {
          if (event.mode === "spawn") {
            spawn("sleep", ["1000"], { stdio: "ignore" });
            spawn("sh", ["-c", "sleep 1001 & sleep 1002 &"], { stdio: "ignore" });
            await new Promise((resolve) => setTimeout(resolve, 200));
            return others();
          }
          let forked = 0;
          for (let i = 0; i < 8; i++) {
            if (spawnSync("true").status === 0) {
              forked++;
            }
          }
          return { others: others(), forked };
        };
        """;

    [Theory]
    [InlineData("runsc", FunctionRuntimes.Python3)]
    [InlineData("bwrap", FunctionRuntimes.Python3)]
    [InlineData("runsc", FunctionRuntimes.Node)]
    [InlineData("bwrap", FunctionRuntimes.Node)]
    public async Task BackgroundProcesses_AreGoneBeforeTheNextInvocationOfTheWarmSandbox(string backend, string runtime)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var definition = Define(fixture, runtime);

        for (var round = 0; round < 3; round++)
        {
            await using var lease = await pool.LeaseAsync(definition, CancellationToken.None);
            var spawned = await lease.InvokeAsync(Json("""{"mode":"spawn"}"""), new FakeHostCalls(), CancellationToken.None);
            var next = await lease.InvokeAsync(Json("""{"mode":"ps"}"""), new FakeHostCalls(), CancellationToken.None);

            Assert.True(spawned.IsSuccess, spawned.ToString());
            Assert.Contains("sleep", spawned.Result.EnumerateArray().Select(name => name.GetString()));
            Assert.True(next.IsSuccess, next.ToString());
            Assert.Equal("[]", next.Result.GetProperty("others").GetRawText());
            Assert.Equal(8, next.Result.GetProperty("forked").GetInt32());
            Assert.Equal(round > 0, lease.WasWarm);
        }
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task AForkBombTheHandlerSurvives_LeavesNoProcessForTheNextInvocation(string backend)
    {
        using var fixture = new FunctionFixture();
        await using var pool = StartPool(backend);
        var definition = Define(fixture, FunctionRuntimes.Python3);

        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            var bomb = await lease.InvokeAsync(Json("""{"mode":"bomb"}"""), new FakeHostCalls(), CancellationToken.None);

            // Held at the limit: a handful of processes short of it (the runner, its init, the sentry's own under gVisor).
            Assert.True(bomb.IsSuccess, bomb.ToString());
            Assert.InRange(bomb.Result.GetInt32(), Pids / 2, Pids);
        }

        await using (var lease = await pool.LeaseAsync(definition, CancellationToken.None))
        {
            var next = await lease.InvokeAsync(Json("""{"mode":"ps"}"""), new FakeHostCalls(), CancellationToken.None);

            Assert.True(next.IsSuccess, next.ToString());
            Assert.Equal("[]", next.Result.GetProperty("others").GetRawText());
            Assert.Equal(8, next.Result.GetProperty("forked").GetInt32());

            // bubblewrap's host pids cgroup saw the refused fork, so that sandbox was retired; gVisor's was reaped and served on.
            Assert.Equal(backend == "runsc", lease.WasWarm);
        }
    }

    private static FunctionSandboxDefinition Define(FunctionFixture fixture, string runtime)
    {
        var definition = runtime == FunctionRuntimes.Node
            ? fixture.Define(new FunctionKey("tenant-a", "fn@reap-node"), runtime, "handler.js", NodeSpawner)
            : fixture.Define(new FunctionKey("tenant-a", "fn@reap-python"), runtime, "handler.py", PythonSpawner);
        return definition with
        {
            Limits = definition.Limits with { Pids = Pids },
            SessionOptions = definition.SessionOptions with { InvocationTimeout = TimeSpan.FromSeconds(20) },
        };
    }
}
