using Cloister.Functions;
using Cloister.Sandbox;
using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Runner;
using SandboxIsolation = Cloister.Sandbox.Pool.FunctionIsolation;

namespace Cloister.Enclave.Functions;

/// <summary>
/// Maps a manifest's limits and isolation onto a <see cref="FunctionSandboxDefinition"/>
/// (docs/design/invocation.md, "Limits"). The backend enforces wall, CPU and output limits over a
/// sandbox's whole life, so a per-invocation sandbox gets the manifest's values plus its start-up,
/// and a warm one gets a lifetime budget; per invocation, the runner's invocation timeout (the
/// manifest's wall timeout, host calls included) and the frame size (its output size) apply.
/// </summary>
internal static class FunctionSandboxes
{
    /// <summary>CPU seconds allowed for starting an interpreter, on top of the manifest's CPU time.</summary>
    private const int StartupCpuSeconds = 2;

    /// <summary>Room in a frame around the result (type, id, JSON punctuation).</summary>
    private const int FrameOverheadBytes = 1024;

    /// <summary>Stderr and host-call frames a per-invocation sandbox may write besides its result.</summary>
    private const long SideOutputBytes = 64 * 1024;

    /// <summary>How many results' worth of output a warm sandbox may write in its life.</summary>
    private const long WarmOutputFactor = 64;

    private const long MaxSandboxOutputBytes = 1L << 32;
    private const int MaxSandboxCpuSeconds = 3600;

    public static FunctionSandboxDefinition Define(FunctionKey key, FunctionManifest manifest, string bundleDirectory, string runnerDirectory, EnclaveFunctionOptions options)
    {
        var limits = manifest.Limits;
        var wall = TimeSpan.FromSeconds(limits.WallTimeoutSeconds);
        var warm = manifest.Isolation == Cloister.Functions.FunctionIsolation.Warm;
        var perInvocationOutput = (2 * limits.OutputBytes) + SideOutputBytes;
        var lifetime = warm ? Max(options.WarmSandboxLifetime, (2 * wall) + options.ReadyTimeout) : wall + options.ReadyTimeout;
        if (lifetime > TimeSpan.FromHours(1))
        {
            lifetime = TimeSpan.FromHours(1);
        }

        var cpu = warm ? Math.Max(limits.CpuSeconds, (int)Math.Ceiling(lifetime.TotalSeconds)) : limits.CpuSeconds + StartupCpuSeconds;
        return new FunctionSandboxDefinition(key, RuntimeName(manifest.Runtime), bundleDirectory, manifest.Entrypoint)
        {
            RunnerDirectory = manifest.Runtime == FunctionRuntime.Native ? null : runnerDirectory,
            Isolation = warm ? SandboxIsolation.Warm : SandboxIsolation.PerInvocation,
            Limits = new SandboxLimits
            {
                MemoryMiB = limits.MemoryMiB,
                WallTimeout = lifetime,
                CpuSeconds = Math.Min(cpu, MaxSandboxCpuSeconds),
                OutputBytes = Math.Min(warm ? perInvocationOutput * WarmOutputFactor : perInvocationOutput, MaxSandboxOutputBytes),
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

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
