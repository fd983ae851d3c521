using Cloister.Functions;
using Cloister.Sandbox;
using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Runner;
using SandboxIsolation = Cloister.Sandbox.Pool.FunctionIsolation;

namespace Cloister.Enclave.Functions;

/// <summary>
/// Maps a manifest's limits and isolation onto a <see cref="FunctionSandboxDefinition"/>
/// (docs/design/invocation.md, "Limits"). A function sandbox's wall, CPU and output limits are
/// budgets renewed for every invocation (docs/sandbox-limits.md), so they are the manifest's values;
/// the runner's invocation timeout (host calls included) and the frame size bound the result too.
/// </summary>
internal static class FunctionSandboxes
{
    /// <summary>Room in a frame around the result (type, id, JSON punctuation).</summary>
    private const int FrameOverheadBytes = 1024;

    /// <summary>Stderr and host-call frames an invocation may write besides its result.</summary>
    private const long SideOutputBytes = 64 * 1024;

    public static FunctionSandboxDefinition Define(FunctionKey key, FunctionManifest manifest, string bundleDirectory, string runnerDirectory, EnclaveFunctionOptions options)
    {
        var limits = manifest.Limits;
        var wall = TimeSpan.FromSeconds(limits.WallTimeoutSeconds);
        var warm = manifest.Isolation == Cloister.Functions.FunctionIsolation.Warm;
        return new FunctionSandboxDefinition(key, RuntimeName(manifest.Runtime), bundleDirectory, manifest.Entrypoint)
        {
            RunnerDirectory = manifest.Runtime == FunctionRuntime.Native ? null : runnerDirectory,
            Isolation = warm ? SandboxIsolation.Warm : SandboxIsolation.PerInvocation,
            MaxConcurrency = limits.Concurrency,
            Limits = new SandboxLimits
            {
                MemoryMiB = limits.MemoryMiB,
                WallTimeout = wall,
                CpuSeconds = limits.CpuSeconds,
                OutputBytes = (2 * limits.OutputBytes) + SideOutputBytes,
            },
            SessionOptions = new RunnerSessionOptions
            {
                InvocationTimeout = wall,
                ReadyTimeout = options.ReadyTimeout,
                MaxFrameBytes = (int)Math.Min(limits.OutputBytes + FrameOverheadBytes, 64 * 1024 * 1024),
            },
        };
    }

    private static string RuntimeName(FunctionRuntime runtime) => runtime switch
    {
        FunctionRuntime.Python3 => FunctionRuntimes.Python3,
        FunctionRuntime.Node => FunctionRuntimes.Node,
        _ => FunctionRuntimes.Native,
    };
}
