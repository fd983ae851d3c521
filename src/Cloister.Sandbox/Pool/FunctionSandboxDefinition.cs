using Cloister.Sandbox.Runner;

namespace Cloister.Sandbox.Pool;

/// <summary>
/// Identifies the one function version of one tenant that a sandbox belongs to. Both parts are
/// opaque; two keys are the same only when both parts are equal (ordinal).
/// </summary>
/// <param name="TenantId">The tenant that deployed the function.</param>
/// <param name="FunctionVersionId">The immutable function version (bundle and manifest).</param>
public sealed record FunctionKey(string TenantId, string FunctionVersionId)
{
    /// <inheritdoc />
    public override string ToString() => $"{TenantId}/{FunctionVersionId}";
}

/// <summary>How sandboxes of a function are reused.</summary>
public enum FunctionIsolation
{
    /// <summary>A warm sandbox serves successive invocations of this function version; its scratch <c>/tmp</c> is wiped between them.</summary>
    Warm,

    /// <summary>A fresh sandbox for every invocation; a sandbox is disposed after one use.</summary>
    PerInvocation,
}

/// <summary>The runtimes a function may use.</summary>
public static class FunctionRuntimes
{
    /// <summary>Debian's <c>/usr/bin/python3</c> running <c>/runner/runner.py</c>.</summary>
    public const string Python3 = "python3";

    /// <summary>Debian's <c>/usr/bin/node</c> running <c>/runner/runner.js</c>.</summary>
    public const string Node = "node";

    /// <summary>Where the sandboxes find the <see cref="Python3"/> interpreter (the host's, bound read-only).</summary>
    public const string Python3Path = "/usr/bin/python3";

    /// <summary>Where the sandboxes find the <see cref="Node"/> interpreter (the host's, bound read-only).</summary>
    public const string NodePath = "/usr/bin/node";

    /// <summary>The entrypoint itself, a Linux x86-64 executable that speaks the runner protocol.</summary>
    public const string Native = "native";
}

/// <summary>Everything needed to start sandboxes for one function version.</summary>
/// <remarks>
/// The bundle directory is bound read-only at <c>/fn</c> and the runner directory (from
/// <see cref="Runners.Extract"/>) at <c>/runner</c>; both must be readable by "others" on the
/// host, because the bubblewrap backend runs the function as an unprivileged uid.
/// <para>
/// <see cref="SandboxLimits.WallTimeout"/>, <see cref="SandboxLimits.CpuSeconds"/> and <see cref="SandboxLimits.OutputBytes"/>
/// bound each invocation (the manifest's wall timeout, CPU and output limits), not the sandbox's life: a warm
/// sandbox serves as many invocations as its pool keeps it for. The runner protocol's own
/// <see cref="RunnerSessionOptions.InvocationTimeout"/> applies too; the shorter one wins.
/// </para>
/// </remarks>
/// <param name="Key">The tenant and function version the sandboxes belong to.</param>
/// <param name="Runtime">One of <see cref="FunctionRuntimes"/>.</param>
/// <param name="BundleDirectory">Absolute host path of the extracted bundle, bound at <c>/fn</c>.</param>
/// <param name="Entrypoint">The handler's path relative to the bundle, e.g. <c>handler.py</c>.</param>
public sealed record FunctionSandboxDefinition(FunctionKey Key, string Runtime, string BundleDirectory, string Entrypoint)
{
    /// <summary>Where the bundle appears inside the sandbox.</summary>
    public const string BundleMountPath = "/fn";

    /// <summary>Where the runners appear inside the sandbox.</summary>
    public const string RunnerMountPath = "/runner";

    /// <summary>The scratch directory the runner wipes between warm invocations (the sandbox's private tmpfs).</summary>
    public const string ScratchDirectory = "/tmp";

    /// <summary>Absolute host path holding <c>runner.py</c> and <c>runner.js</c>; required for <c>python3</c> and <c>node</c>.</summary>
    public string? RunnerDirectory { get; init; }

    /// <summary>Limits of each sandbox; <see cref="SandboxLimits.Default"/> unless given.</summary>
    public SandboxLimits Limits { get; init; } = SandboxLimits.Default;

    /// <summary>Limits of the runner protocol (frame size, invocation and ready timeouts).</summary>
    public RunnerSessionOptions SessionOptions { get; init; } = new();

    /// <summary>Whether a sandbox serves successive invocations; <see cref="FunctionIsolation.Warm"/> by default.</summary>
    public FunctionIsolation Isolation { get; init; } = FunctionIsolation.Warm;

    /// <summary>The largest accepted <see cref="MaxConcurrency"/>.</summary>
    public const int MaxConcurrencyLimit = 1024;

    /// <summary>
    /// The most sandboxes (leased plus idle) a <see cref="SandboxPool"/> runs at once for this function version:
    /// the manifest's <c>limits.concurrency</c>, 1..<see cref="MaxConcurrencyLimit"/>. The pool's
    /// <see cref="SandboxPoolOptions.MaxPerFunction"/> caps it; <c>null</c> (the default) means that cap alone.
    /// </summary>
    public int? MaxConcurrency { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Key);
        if (string.IsNullOrEmpty(Key.TenantId) || string.IsNullOrEmpty(Key.FunctionVersionId))
        {
            throw new ArgumentException("A function key needs a tenant id and a function version id.", nameof(Key));
        }

        if (Runtime is not (FunctionRuntimes.Python3 or FunctionRuntimes.Node or FunctionRuntimes.Native))
        {
            throw new ArgumentException($"Unknown runtime '{Runtime}' (known: python3, node, native).", nameof(Runtime));
        }

        if (string.IsNullOrEmpty(Entrypoint) || Entrypoint.StartsWith('/') || Entrypoint.Contains('\0', StringComparison.Ordinal)
            || Entrypoint.Split('/').Any(part => part is ".." or "." or ""))
        {
            throw new ArgumentException($"The entrypoint must be a relative path inside the bundle, got '{Entrypoint}'.", nameof(Entrypoint));
        }

        if (Runtime != FunctionRuntimes.Native && RunnerDirectory is null)
        {
            throw new ArgumentException($"The runtime '{Runtime}' needs a runner directory (Runners.Extract).", nameof(RunnerDirectory));
        }

        if (!Enum.IsDefined(Isolation))
        {
            throw new ArgumentException($"Unknown isolation '{Isolation}'.", nameof(Isolation));
        }

        if (MaxConcurrency is < 1 or > MaxConcurrencyLimit)
        {
            throw new ArgumentException($"The maximum concurrency must be in 1..{MaxConcurrencyLimit}, got {MaxConcurrency}.", nameof(MaxConcurrency));
        }

        SessionOptions.Validate();
        ToSandboxSpec().Validate();
    }

    /// <summary>The sandbox that runs this function: the runtime's program with the runner and the entrypoint.</summary>
    internal SandboxSpec ToSandboxSpec()
    {
        string entrypoint = BundleMountPath + "/" + Entrypoint;
        var binds = new Dictionary<string, string>(StringComparer.Ordinal) { [BundleDirectory] = BundleMountPath };
        if (RunnerDirectory is not null)
        {
            binds[RunnerDirectory] = RunnerMountPath;
        }

        var (executable, arguments) = Runtime switch
        {
            FunctionRuntimes.Python3 => (FunctionRuntimes.Python3Path, new[] { RunnerMountPath + "/" + Runners.PythonFileName, entrypoint }),
            FunctionRuntimes.Node => (FunctionRuntimes.NodePath, new[] { RunnerMountPath + "/" + Runners.NodeFileName, entrypoint }),
            _ => (entrypoint, Array.Empty<string>()),
        };

        return new SandboxSpec(executable)
        {
            RenewableLimits = true,
            Arguments = arguments,
            ReadOnlyBinds = binds,
            Limits = Limits,
            Environment = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [Runners.ScratchDirVariable] = ScratchDirectory,
                [Runners.MaxFrameBytesVariable] = SessionOptions.MaxFrameBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                [Runners.EntrypointVariable] = entrypoint,
            },
        };
    }
}
