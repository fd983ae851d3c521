using System.Diagnostics;
using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Pool;

namespace Cloister.Sandbox;

/// <summary>What this host offers functions: the sandbox backend that would be used, and the runtimes present.</summary>
/// <param name="Backend">The detected backend's name (<c>runsc</c> or <c>bwrap</c>), or <c>null</c> when none is usable.</param>
/// <param name="BackendVersion">The first line of the backend's <c>--version</c>, or <c>null</c> when it could not be read.</param>
/// <param name="Message">What <see cref="SandboxBackends.Detect"/> said: the backend in use, or what to install.</param>
/// <param name="UsableBackends">Every backend usable here, best first (the first is <paramref name="Backend"/>).</param>
/// <param name="Runtimes">The interpreted runtimes (<see cref="FunctionRuntimes.Python3"/>, <see cref="FunctionRuntimes.Node"/>) and whether each is installed.</param>
public sealed record SandboxEnvironmentInfo(
    string? Backend, string? BackendVersion, string Message, IReadOnlyList<string> UsableBackends, IReadOnlyList<SandboxRuntimeInfo> Runtimes);

/// <summary>One function runtime on this host.</summary>
/// <param name="Name">The manifest's runtime name, e.g. <see cref="FunctionRuntimes.Python3"/>.</param>
/// <param name="Path">The host path the sandboxes run, e.g. <c>/usr/bin/python3</c>.</param>
/// <param name="Installed">Whether that file exists.</param>
/// <param name="Version">The first line of its <c>--version</c>, or <c>null</c> when not installed or unreadable.</param>
public sealed record SandboxRuntimeInfo(string Name, string Path, bool Installed, string? Version);

/// <summary>Describes the sandboxing this host can do, for the enclave and <c>cloister serve</c> to report.</summary>
public static class SandboxEnvironment
{
    /// <summary>How long one <c>--version</c> may take before its answer is given up (and reported as unknown).</summary>
    private static readonly TimeSpan VersionTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Detects the backend (as <see cref="SandboxBackends.Detect"/>) and checks the runtimes. Runs each tool's
    /// <c>--version</c> once (a few short process starts): call it at start-up, not per request.
    /// </summary>
    public static async Task<SandboxEnvironmentInfo> DescribeAsync(CancellationToken cancellationToken)
    {
        var backend = SandboxBackends.Detect(out var message);
        var usable = new[] { RunscBackend.BackendName, BubblewrapBackend.BackendName }
            .Where(name => SandboxBackends.TryCreate(name, out _, out _))
            .ToList();
        var backendPath = backend is null ? null : HostTools.Find(backend.Name);
        var backendVersion = backendPath is null ? null : await VersionAsync(backendPath, cancellationToken).ConfigureAwait(false);

        var runtimes = new List<SandboxRuntimeInfo>();
        foreach (var (name, path) in new[] { (FunctionRuntimes.Python3, FunctionRuntimes.Python3Path), (FunctionRuntimes.Node, FunctionRuntimes.NodePath) })
        {
            var installed = File.Exists(path);
            runtimes.Add(new SandboxRuntimeInfo(name, path, installed, installed ? await VersionAsync(path, cancellationToken).ConfigureAwait(false) : null));
        }

        return new SandboxEnvironmentInfo(backend?.Name, backendVersion, message, usable, runtimes);
    }

    /// <summary>The first non-empty line <paramref name="program"/> <c>--version</c> prints, or <c>null</c>.</summary>
    private static async Task<string?> VersionAsync(string program, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(VersionTimeout);
        Process? process = null;
        try
        {
            process = Process.Start(new ProcessStartInfo(program, ["--version"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return null;
            }

            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            var text = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
            return process.ExitCode != 0 ? null : text.Split('\n').Select(line => line.Trim()).FirstOrDefault(line => line.Length > 0);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
        finally
        {
            if (process is { HasExited: false })
            {
                process.Kill();
            }

            process?.Dispose();
        }
    }
}
