using System.Diagnostics;
using System.Globalization;

namespace Cloister.Sandbox.Backends;

/// <summary>
/// Runs a <see cref="SandboxSpec"/> as a plain child process: <b>no isolation at all</b>. It exists
/// for two things only: the benchmark baseline ("the same handler run directly, without a sandbox")
/// and the development switch <c>cloister serve --unsafe-no-sandbox</c>, which is off by default.
/// </summary>
/// <remarks>
/// <para>
/// The program runs as the server's own user, on the host's network and file system: it can read
/// whatever that user can (the data dir, the master key), open connections and fork without bound.
/// Never use it with code you do not trust.
/// </para>
/// <para>
/// What is kept: the same stdin/stdout framing, the wall timeout and the output cap (through
/// <see cref="SandboxProcess"/>), CPU time (polled from the process), and — when <c>prlimit</c> is
/// installed — the address-space, CPU, file-size and core rlimits that the bubblewrap backend sets.
/// </para>
/// <para>
/// There is no mount namespace, so sandbox paths are mapped to host paths: every
/// <see cref="SandboxSpec.ReadOnlyBinds"/> target (e.g. <c>/fn</c>, <c>/runner</c>) becomes its host
/// source, and <c>/tmp</c> becomes a private scratch directory created for this process and removed
/// when it is disposed (so a runner wiping its "/tmp" wipes only that). The mapping applies to the
/// executable, to each argument and to each environment value that is, or starts with, a mapped path.
/// </para>
/// </remarks>
public sealed class UnsandboxedBackend : ISandboxBackend
{
    /// <summary>The backend's name, <c>none</c>.</summary>
    public const string BackendName = "none";

    /// <summary>The warning to print at every start of a server that uses this backend.</summary>
    public const string Warning = "WARNING: functions run WITHOUT A SANDBOX (--unsafe-no-sandbox): customer code runs as this process's user with full access to the host, its network and the data dir. Development only.";

    private const string ScratchPath = "/tmp";

    private readonly string? _prlimit;

    /// <summary>Creates the backend; it uses <c>prlimit</c> for rlimits when the host has it.</summary>
    public UnsandboxedBackend()
        => _prlimit = HostTools.Find("prlimit");

    /// <inheritdoc />
    public string Name => BackendName;

    /// <inheritdoc />
    public Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        ct.ThrowIfCancellationRequested();

        var scratch = Directory.CreateTempSubdirectory("cloister-nosandbox-").FullName;
        try
        {
            var paths = new PathMap(spec, scratch);
            var info = new ProcessStartInfo(_prlimit ?? paths.Map(spec.Executable))
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = scratch,
            };
            foreach (var argument in Command(spec, paths))
            {
                info.ArgumentList.Add(argument);
            }

            // Only the spec's environment, as in a sandbox; never the server's (it may hold keys).
            info.Environment.Clear();
            // The bundle is writable here, unlike in a sandbox: Python must not add __pycache__ to it.
            info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
            foreach (var (name, value) in SandboxLauncher.Environment(spec, ownPidNamespace: false))
            {
                info.Environment[name] = paths.Map(value);
            }

            var process = Process.Start(info) ?? throw new SandboxException("could not start the unsandboxed process");
            return Task.FromResult<ISandboxProcess>(new SandboxProcess(process, new Host(process, scratch), spec.Limits));
        }
        catch
        {
            DeleteScratch(scratch);
            throw;
        }
    }

    /// <summary>The arguments after the started program: prlimit's options and the real program when prlimit is used.</summary>
    private List<string> Command(SandboxSpec spec, PathMap paths)
    {
        var command = new List<string>();
        if (_prlimit is not null)
        {
            static string I(long value) => value.ToString(CultureInfo.InvariantCulture);
            var limits = spec.Limits;
            command.AddRange([
                $"--as={I(SandboxLauncher.AddressSpaceBytes(limits))}", $"--cpu={I(limits.CpuSeconds)}:{I(limits.CpuSeconds + 1L)}",
                $"--fsize={I(limits.TmpfsMiB * 1024L * 1024)}", "--nofile=256", "--core=0", "--", paths.Map(spec.Executable),
            ]);
        }

        command.AddRange(spec.Arguments.Select(paths.Map));
        return command;
    }

    private static void DeleteScratch(string scratch)
    {
        try
        {
            Directory.Delete(scratch, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Sandbox path → host path, longest sandbox path first so that <c>/fn/lib</c> wins over <c>/fn</c>.</summary>
    private sealed class PathMap
    {
        private readonly List<(string Inside, string Host)> _map;

        public PathMap(SandboxSpec spec, string scratch)
        {
            _map = [.. spec.ReadOnlyBinds.Select(b => (b.Value.TrimEnd('/'), b.Key.TrimEnd('/'))), (ScratchPath, scratch)];
            _map.Sort((a, b) => b.Inside.Length.CompareTo(a.Inside.Length));
        }

        public string Map(string value)
        {
            foreach (var (inside, host) in _map)
            {
                if (value == inside)
                {
                    return host;
                }

                if (value.StartsWith(inside + "/", StringComparison.Ordinal))
                {
                    return host + value[inside.Length..];
                }
            }

            return value;
        }
    }

    private sealed class Host(Process process, string scratch) : ISandboxHost
    {
        // SandboxProcess kills the process tree itself; there is no cgroup to empty.
        public void KillAll()
        {
        }

        public TimeSpan CpuUsed()
        {
            try
            {
                return process.TotalProcessorTime;
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                return TimeSpan.Zero;
            }
        }

        public bool HitPidsLimit() => false;

        public SandboxExitReason Classify(int exitCode, string stderrTail) => exitCode switch
        {
            _ when SandboxLauncher.LooksLikeMemoryError(exitCode, stderrTail) => SandboxExitReason.MemoryLimit,
            _ when SandboxLauncher.LooksLikeForkFailure(exitCode, stderrTail) => SandboxExitReason.PidsLimit,
            128 + 24 => SandboxExitReason.CpuLimit, // SIGXCPU at the RLIMIT_CPU soft limit
            > 128 => SandboxExitReason.Crashed,
            _ when stderrTail.StartsWith("prlimit:", StringComparison.Ordinal) => SandboxExitReason.Crashed,
            _ => SandboxExitReason.Exited,
        };

        public void Dispose() => DeleteScratch(scratch);
    }
}
