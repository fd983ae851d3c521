namespace Cloister.Sandbox;

/// <summary>What to run inside a sandbox, what it may see, and its limits.</summary>
/// <remarks>
/// The sandbox root is read-only and holds only the system runtime directories (<c>/usr</c> and
/// its compatibility links, a few files of <c>/etc</c>), a private tmpfs at <c>/tmp</c>, and the
/// <see cref="ReadOnlyBinds"/>. Nothing else of the host (its <c>/etc/shadow</c>, <c>/root</c>,
/// the data dir, other bundles) is visible. Call <see cref="Validate"/> before use; backends do.
/// </remarks>
/// <param name="Executable">Absolute path of the program inside the sandbox, e.g. <c>/usr/bin/python3</c>.</param>
public sealed record SandboxSpec(string Executable)
{
    /// <summary>Sandbox paths that the backends own; a bind may not replace or sit under them.</summary>
    internal static readonly string[] ReservedPaths = ["/", "/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc", "/proc", "/dev", "/tmp", "/sys"];

    /// <summary>Arguments after the program name.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Host directory or file → absolute path inside the sandbox, bound read-only (e.g. the bundle → <c>/fn</c>).</summary>
    public IReadOnlyDictionary<string, string> ReadOnlyBinds { get; init; } = new Dictionary<string, string>();

    /// <summary>Environment variables; <c>PATH</c>, <c>HOME=/tmp</c> and <c>LANG</c> are set unless given.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Resource limits; <see cref="SandboxLimits.Default"/> unless given.</summary>
    public SandboxLimits Limits { get; init; } = SandboxLimits.Default;

    /// <summary>
    /// When set, <see cref="SandboxLimits.WallTimeout"/>, <see cref="SandboxLimits.CpuSeconds"/> and <see cref="SandboxLimits.OutputBytes"/> bound each
    /// budget the owner opens (<see cref="Backends.SandboxProcess.RenewBudget"/>: one per invocation of a warm
    /// sandbox) rather than the sandbox's whole life, and no per-process CPU rlimit is set (it would count the
    /// runner's whole life). Until the first renewal the limits apply from the start, as without it.
    /// </summary>
    internal bool RenewableLimits { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Executable) || !Executable.StartsWith('/') || Executable.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Executable must be an absolute path inside the sandbox, got '{Executable}'.", nameof(Executable));
        }

        foreach (var argument in Arguments)
        {
            if (argument is null || argument.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException("Arguments may not be null or contain NUL.", nameof(Arguments));
            }
        }

        foreach (var (host, inside) in ReadOnlyBinds)
        {
            if (!Path.IsPathFullyQualified(host) || !(Directory.Exists(host) || File.Exists(host)))
            {
                throw new ArgumentException($"Bind source '{host}' must be an existing absolute host path.", nameof(ReadOnlyBinds));
            }

            if (!inside.StartsWith('/') || inside.Contains("..", StringComparison.Ordinal) || inside.Contains('\0', StringComparison.Ordinal) || inside.Contains(',', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Bind target '{inside}' must be an absolute sandbox path without '..' or ','.", nameof(ReadOnlyBinds));
            }

            var normalized = inside.TrimEnd('/');
            foreach (var reserved in ReservedPaths)
            {
                if (normalized.Length == 0 || normalized == reserved || (reserved != "/" && normalized.StartsWith(reserved + "/", StringComparison.Ordinal)))
                {
                    throw new ArgumentException($"Bind target '{inside}' would replace the sandbox's own '{reserved}'.", nameof(ReadOnlyBinds));
                }
            }
        }

        foreach (var (name, value) in Environment)
        {
            if (string.IsNullOrEmpty(name) || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal) || value is null || value.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Invalid environment variable '{name}'.", nameof(Environment));
            }
        }

        Limits.Validate();
    }
}

/// <summary>Resource limits of one sandbox. The defaults are the safe ones the manifest documents.</summary>
public sealed record SandboxLimits
{
    public static SandboxLimits Default { get; } = new();

    /// <summary>Memory limit (host cgroup) in MiB; default 128.</summary>
    public int MemoryMiB { get; init; } = 128;

    /// <summary>Maximum processes and threads; default 64.</summary>
    public int Pids { get; init; } = 64;

    /// <summary>CPU time limit of the whole sandbox in seconds (of each invocation, for a function's sandbox); default 10.</summary>
    public int CpuSeconds { get; init; } = 10;

    /// <summary>Wall-clock limit enforced by the host, which kills the whole sandbox (of each invocation, for a function's sandbox); default 10 s.</summary>
    public TimeSpan WallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Size of the private <c>/tmp</c> in MiB; default 64.</summary>
    public int TmpfsMiB { get; init; } = 64;

    /// <summary>Cap on the bytes read from stdout plus those written to stderr (of each invocation, for a function's sandbox); default 1 MiB.</summary>
    public long OutputBytes { get; init; } = 1024 * 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first limit out of range.</summary>
    public void Validate()
    {
        Check(MemoryMiB is >= 16 and <= 64 * 1024, nameof(MemoryMiB), "16..65536");
        Check(Pids is >= 1 and <= 4096, nameof(Pids), "1..4096");
        Check(CpuSeconds is >= 1 and <= 3600, nameof(CpuSeconds), "1..3600");
        Check(WallTimeout > TimeSpan.Zero && WallTimeout <= TimeSpan.FromHours(1), nameof(WallTimeout), "(0, 1 h]");
        Check(TmpfsMiB is >= 1 and <= 16 * 1024, nameof(TmpfsMiB), "1..16384");
        Check(OutputBytes is >= 1024 and <= 1L << 32, nameof(OutputBytes), "1 KiB..4 GiB");
    }

    private static void Check(bool ok, string name, string range)
    {
        if (!ok)
        {
            throw new ArgumentException($"Sandbox limit {name} must be in {range}.", name);
        }
    }
}
