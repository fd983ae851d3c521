using System.Text;
using Cloister.Sandbox.Backends;

namespace Cloister.Sandbox.Tests.Backends;

/// <summary>Starts real sandboxes for the tests; a missing backend fails the test (CI installs both).</summary>
internal static class SandboxHarness
{
    public const string Python = "/usr/bin/python3";

    public static ISandboxBackend Backend(string name)
    {
        if (!SandboxBackends.TryCreate(name, out var backend, out var message))
        {
            Assert.Fail($"sandbox backend '{name}' is not usable here: {message}. CI installs both runsc and bubblewrap (test.sh).");
        }

        return backend;
    }

    public static SandboxSpec PythonSpec(string script, SandboxLimits? limits = null) =>
        new(Python) { Arguments = ["-c", script], Limits = limits ?? new SandboxLimits { WallTimeout = TimeSpan.FromSeconds(20) } };

    /// <summary>Runs to the end, keeping at most 64 KiB of stdout in memory and discarding the rest.</summary>
    public static async Task<(SandboxExit Exit, string Output, long OutputBytes)> RunAsync(string backendName, SandboxSpec spec, string? stdin = null)
    {
        await using var process = await Backend(backendName).StartAsync(spec, CancellationToken.None);
        if (stdin is not null)
        {
            await process.Input.WriteAsync(Encoding.UTF8.GetBytes(stdin));
        }

        await process.Input.DisposeAsync();
        var (output, total) = await ReadAllAsync(process.Output);
        var exit = await process.WaitAsync();
        return (exit, output, total);
    }

    public static async Task<(string Text, long Total)> ReadAllAsync(Stream stream)
    {
        var kept = new MemoryStream();
        var buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            total += n;
            if (kept.Length < buffer.Length)
            {
                kept.Write(buffer, 0, (int)Math.Min(n, buffer.Length - kept.Length));
            }
        }

        return (Encoding.UTF8.GetString(kept.ToArray()), total);
    }
}
