using System.Text.Json;
using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Runner;

namespace Cloister.Sandbox.Tests.Pool;

/// <summary>A function bundle and the runners in a temp directory readable by the sandbox uid.</summary>
internal sealed class FunctionFixture : IDisposable
{
    private readonly TempDirectory _dir = TempDirectory.Create("sbx", sandboxReadable: true);

    public FunctionFixture()
    {
        RunnerDirectory = Path.Combine(_dir.Path, "runner");
        Runners.Extract(RunnerDirectory);
    }

    public string RunnerDirectory { get; }

    /// <summary>Writes a bundle holding one handler file and defines the function over it, with test-friendly limits.</summary>
    public FunctionSandboxDefinition Define(FunctionKey key, string runtime, string entrypoint, string source, FunctionIsolation isolation = FunctionIsolation.Warm)
    {
        string bundle = Path.Combine(_dir.Path, "bundle-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(bundle);
        File.WriteAllText(Path.Combine(bundle, entrypoint), source);
        return new FunctionSandboxDefinition(key, runtime, bundle, entrypoint)
        {
            RunnerDirectory = RunnerDirectory,
            Isolation = isolation,
            // Generous per-invocation sandbox limits; the runner protocol's 2 s invocation timeout is the one tests hit.
            Limits = new SandboxLimits { WallTimeout = TimeSpan.FromSeconds(60), CpuSeconds = 30, MemoryMiB = 128 },
            SessionOptions = new RunnerSessionOptions { InvocationTimeout = TimeSpan.FromSeconds(2), ReadyTimeout = TimeSpan.FromSeconds(15) },
        };
    }

    public void Dispose() => _dir.Dispose();
}

internal static class PoolHarness
{
    public static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    public static SandboxPool StartPool(string backend, SandboxPoolOptions? options = null, TimeProvider? time = null) =>
        new(Backends.SandboxHarness.Backend(backend), options, time);

    public const string PythonReveal = """
        import os
        def handle(event, ctx):
            ctx.log("revealing")
            return {"card": ctx.reveal(event["card"])[-4:], "uid": os.getuid()}
        """;

    public const string NodeReveal = """
        module.exports = async (event, ctx) => {
          await ctx.log("revealing");
          const card = await ctx.reveal(event.card);
          return { card: card.slice(-4), node: process.version.startsWith("v") };
        };
        """;

    /// <summary>Leaves a file in /tmp and reports whether the previous invocation's file was still there.</summary>
    public const string PythonTmpProbe = """
        import os
        def handle(event, ctx):
            existed = os.path.exists("/tmp/left-behind.txt")
            with open("/tmp/left-behind.txt", "w") as f:
                f.write("secret of the previous invocation")
            return {"existed": existed, "pid": os.getpid()}
        """;

    /// <summary>The Node twin of <see cref="PythonTmpProbe"/>.</summary>
    public const string NodeTmpProbe = """
        const fs = require("fs");
        module.exports = async (event, ctx) => {
          const existed = fs.existsSync("/tmp/left-behind.txt");
          fs.writeFileSync("/tmp/left-behind.txt", "secret of the previous invocation");
          return { existed, pid: process.pid };
        };
        """;

    /// <summary>Misbehaves as the event asks: loop forever, eat memory, die mid-call; otherwise answers.</summary>
    public const string PythonHostile = """
        import os
        def handle(event, ctx):
            mode = event.get("mode")
            if mode == "loop":
                while True:
                    pass
            if mode == "memory":
                hog = []
                while True:
                    hog.append(bytearray(1024 * 1024))
            if mode == "crash":
                ctx.log("about to die")
                os._exit(3)
            return {"ok": True, "pid": os.getpid()}
        """;
}
