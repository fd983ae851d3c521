using System.Text.RegularExpressions;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// The remote-worker deployment, each process with its own data directory as on its own host: <c>cloister keybroker</c>,
/// <c>cloister worker --listen</c> using it, and <c>cloister serve --worker-url</c> using that worker. The broker's policy
/// (an operator's file) pins the worker once it has said who it is.
/// </summary>
public sealed partial class RemotePartition : IAsyncDisposable
{
    private readonly List<IDisposable> _directories = [];
    private readonly List<ServerProcess> _processes = [];

    private RemotePartition()
    {
    }

    public string BrokerData { get; private set; } = "";

    public string WorkerData { get; private set; } = "";

    public string RouterData { get; private set; } = "";

    /// <summary>The token file the worker wrote and serve reads.</summary>
    public string TokenPath { get; private set; } = "";

    public ServerProcess Broker { get; private set; } = null!;

    public ServerProcess Worker { get; private set; } = null!;

    public ServerProcess Server { get; private set; } = null!;

    /// <summary>The link between serve and the worker, when started with one that can be cut.</summary>
    public LinkCut? Link { get; private set; }

    /// <summary>Starts the three processes; with <paramref name="cuttableLink"/>, serve reaches the worker through a <see cref="LinkCut"/>.</summary>
    public static async Task<RemotePartition> StartAsync(bool cuttableLink = false)
    {
        var remote = new RemotePartition();
        try
        {
            remote.BrokerData = remote.Directory("remote-broker");
            remote.WorkerData = remote.Directory("remote-worker");
            remote.RouterData = remote.Directory("remote-router");
            var policyPath = Path.Combine(remote.BrokerData, "policy.json");
            var policy = new AttestationPolicyFile
            {
                Appraisal = new AppraisalPolicy { AllowedTees = new HashSet<TeeType> { TeeType.Simulated } },
            };
            await File.WriteAllTextAsync(policyPath, policy.Serialize());
            remote.Broker = remote.Started(await ServerProcess.StartCommandAsync(["keybroker", "--data-dir", remote.BrokerData, "--policy", policyPath, "--urls", "http://127.0.0.1:0"]));
            remote.TokenPath = Path.Combine(remote.WorkerData, "router.token");
            remote.Worker = remote.Started(await ServerProcess.StartCommandAsync(["worker", "--data-dir", remote.WorkerData, "--listen", "http://127.0.0.1:0", "--broker", remote.Broker.Url + "/v1/broker/frames", "--token-file", remote.TokenPath]));
            await File.WriteAllTextAsync(policyPath, (policy with
            {
                SimulatedAttesterKey = await File.ReadAllTextAsync(Path.Combine(remote.WorkerData, "simulated-attester.pub.pem")),
                Workers = [new WorkerRule(MeasurementLine().Match(remote.Worker.Output).Groups[1].Value, [AttestationPolicyFile.Any])],
            }).Serialize());
            remote.Link = cuttableLink ? LinkCut.To(new Uri(remote.Worker.Url)) : null;
            var workerUrl = remote.Link is null ? remote.Worker.Url : new UriBuilder(remote.Worker.Url) { Port = remote.Link.Url.Port }.Uri.ToString();
            remote.Server = remote.Started(await ServerProcess.StartAsync(remote.RouterData, "--worker-url", workerUrl, "--worker-token-file", remote.TokenPath));
            return remote;
        }
        catch
        {
            await remote.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            await _processes[i].DisposeAsync();
        }

        if (Link is not null)
        {
            await Link.DisposeAsync();
        }

        foreach (var directory in _directories)
        {
            directory.Dispose();
        }
    }

    private string Directory(string purpose)
    {
        var directory = TempDirectory.Create(purpose);
        _directories.Add(directory);
        return directory.Path;
    }

    private ServerProcess Started(ServerProcess process)
    {
        _processes.Add(process);
        return process;
    }

    [GeneratedRegex(@"cloister worker: measurement ([0-9a-f]{96})")]
    private static partial Regex MeasurementLine();
}
