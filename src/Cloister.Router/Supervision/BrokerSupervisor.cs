using System.Globalization;
using Cloister.Protocol.Http;

namespace Cloister.Router.Supervision;

/// <summary>
/// Runs <c>cloister keybroker</c> as a child on 127.0.0.1 (a free port the first time, the same port after a
/// restart, so that workers keep their broker URL) and restarts it when it dies.
/// </summary>
internal sealed class BrokerSupervisor : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly RestartLoop _loop;

    private BrokerSupervisor(RestartLoop loop, Uri framesUri)
    {
        _loop = loop;
        FramesUri = framesUri;
    }

    /// <summary>Where workers send broker frames.</summary>
    public Uri FramesUri { get; }

    /// <summary>The running broker's process id.</summary>
    public int ProcessId => _loop.Current.Id;

    public static async Task<BrokerSupervisor> StartAsync(string dataDirectory, string policyPath, CancellationToken cancellationToken)
    {
        var port = 0;
        Uri? frames = null;
        async Task<ChildProcess> StartOneAsync(CancellationToken token)
        {
            var child = ChildProcess.Start("keybroker", ["keybroker", "--data-dir", dataDirectory, "--policy", policyPath, "--urls", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"]);
            try
            {
                var url = (await child.WaitForReadinessAsync(ReadyTimeout, token)).Listening;
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
                {
                    throw new SupervisionException($"the key broker reported an unusable address '{url}'.");
                }

                port = uri.Port;
                frames ??= new Uri(uri, FramePaths.Broker);
                return child;
            }
            catch
            {
                child.Kill();
                await child.DisposeAsync();
                throw;
            }
        }

        var loop = await RestartLoop.StartAsync("key broker", StartOneAsync, (_, _) => { }, cancellationToken);
        return new BrokerSupervisor(loop, frames!);
    }

    public ValueTask DisposeAsync() => _loop.DisposeAsync();
}
