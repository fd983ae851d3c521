using System.Diagnostics;
using System.Text.Json;
using Cloister.Hosting.Children;
using Cloister.Router.Supervision;

namespace Cloister.Cli.Bench;

/// <summary>
/// A server started as a child process of this same executable, so the load generator and the server
/// are separate processes as in production. Parses "listening on URL" from its output.
/// </summary>
internal sealed class ChildServer : IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);

    private readonly Process _process;

    private ChildServer(Process process, string url, IReadOnlyList<string> startup)
    {
        _process = process;
        Url = url;
        StartupOutput = startup;
    }

    public string Url { get; }

    /// <summary>The server's standard output up to its "listening on" line (it says which sandbox it uses).</summary>
    public IReadOnlyList<string> StartupOutput { get; }

    public static async Task<ChildServer> StartAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = SelfExecutable.StartInfo(arguments);
        var process = Process.Start(start) ?? throw new CliException("Could not start the server process.");
        _ = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var startup = new List<string>();
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            // The server's own line, not a relayed child's ("cloister keybroker: listening on …").
            foreach (var marker in (string[])["cloister: listening on ", "listening on "])
            {
                if (line.StartsWith(marker, StringComparison.Ordinal))
                {
                    _ = DrainAsync(process.StandardOutput);
                    return new ChildServer(process, line[marker.Length..].Trim(), startup);
                }
            }

            startup.Add(line);
        }

        throw new CliException($"The server process exited with code {(process.HasExited ? process.ExitCode : -1)} before listening.");
    }

    public static string ReadCredential(string dataDir, string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dataDir, "credentials.json")));
        return document.RootElement.GetProperty(name).GetString()!;
    }

    private static async Task DrainAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is not null)
        {
        }
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            // Stopped as an operator would, so that its worker's sandboxes and its ring go with it; killed only if it hangs.
            ProcessSignals.Terminate(_process.Id);
            using var patience = new CancellationTokenSource(StopGrace);
            try
            {
                await _process.WaitForExitAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
    }
}
