using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Pool;

namespace Cloister.Enclave.Functions;

/// <summary>
/// What the enclave needs to run customer functions (docs/design/invocation.md). Give it to
/// <see cref="EnclaveHost(Cloister.Protocol.IFrameTransport, EnclaveFunctionOptions?, Attestation.WorkerIdentity?)"/>.
/// </summary>
/// <remarks>
/// With no <see cref="Backend"/> the host still starts, and every invocation fails with
/// <c>sandbox-unavailable</c> saying what to install.
/// </remarks>
public sealed record EnclaveFunctionOptions
{
    /// <summary>The sandbox backend, usually <see cref="SandboxBackends.Detect"/>; null refuses every invocation.</summary>
    public ISandboxBackend? Backend { get; init; }

    /// <summary>Sizes and timings of the warm pool; the defaults are safe.</summary>
    public SandboxPoolOptions Pool { get; init; } = new();

    /// <summary>
    /// Absolute host directory where the enclave extracts packages and the language runners. It is
    /// bound read-only into sandboxes, so it (and every directory above it) must be traversable by
    /// the sandbox uid (65534); it must not be, or be inside, <see cref="DataDirectory"/>. The
    /// enclave owns its <c>functions</c> and <c>runner</c> subdirectories and clears them at start.
    /// </summary>
    public required string PackageDirectory { get; init; }

    /// <summary>The server's data directory (master key, database), checked never to be visible to a sandbox; optional.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>How long a sandbox may take to load a handler (runner <c>ready</c>); default 10 s.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The clock of router-step timeouts and the pool's idle sweep; <see cref="System.TimeProvider.System"/> when null.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first unusable setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Pool);
        Pool.Validate();
        if (string.IsNullOrEmpty(PackageDirectory) || !Path.IsPathFullyQualified(PackageDirectory))
        {
            throw new ArgumentException("The package directory must be an absolute path.", nameof(PackageDirectory));
        }

        if (DataDirectory is not null && IsSameOrInside(PackageDirectory, DataDirectory))
        {
            throw new ArgumentException("The package directory must not be inside the data directory: sandboxes see it.", nameof(PackageDirectory));
        }

        if (DataDirectory is not null && IsSameOrInside(DataDirectory, PackageDirectory))
        {
            throw new ArgumentException("The data directory must not be inside the package directory: sandboxes see it.", nameof(DataDirectory));
        }

        if (ReadyTimeout <= TimeSpan.Zero || ReadyTimeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentException("The ready timeout must be in (0, 5 min].", nameof(ReadyTimeout));
        }
    }

    private static bool IsSameOrInside(string path, string directory)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        return string.Equals(full, root, StringComparison.Ordinal)
            || full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}
