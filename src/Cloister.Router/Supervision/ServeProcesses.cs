using Cloister.Protocol;
using Cloister.Protocol.Http;
using Cloister.Protocol.Rings;

namespace Cloister.Router.Supervision;

/// <summary>How <c>serve</c> gets its enclave worker.</summary>
/// <param name="RemoteWorker">A remote worker's frames URL (<c>--worker-url</c>); null starts a local one.</param>
/// <param name="RemoteBroker">A remote key broker's frames URL (<c>--broker-url</c>); null starts a local one.</param>
/// <param name="Link">How to talk to the local worker.</param>
/// <param name="FunctionArguments">The function/sandbox options, passed on to the local worker.</param>
/// <param name="Unsandboxed">Whether functions run with no sandbox (serve repeats the warning).</param>
/// <param name="Health">How the local worker's health is checked (a hung one is killed and restarted).</param>
internal sealed record PartitionSettings(Uri? RemoteWorker, Uri? RemoteBroker, WorkerLink Link, IReadOnlyList<string> FunctionArguments, bool Unsandboxed, WorkerHealthOptions Health)
{
    /// <summary>The rings to a local worker: its lanes' slots and the frame limit, matching the router's options.</summary>
    public RingOptions Rings { get; init; } = new();

    /// <summary>The token the remote worker requires (<c>--worker-token-file</c>); set with <see cref="RemoteWorker"/>.</summary>
    public string? RemoteWorkerToken { get; init; }
}

/// <summary>
/// The processes behind <c>serve</c>'s router: the key broker and the enclave worker (children, restarted when
/// they die), or a remote worker. Disposing stops the worker, then the broker.
/// </summary>
internal sealed class ServeProcesses : IAsyncDisposable
{
    private readonly BrokerSupervisor? _broker;
    private readonly WorkerSupervisor? _worker;
    private readonly HttpClient? _remoteHttp;

    private ServeProcesses(IFrameTransport transport, BrokerSupervisor? broker, WorkerSupervisor? worker, HttpClient? remoteHttp)
    {
        Transport = transport;
        _broker = broker;
        _worker = worker;
        _remoteHttp = remoteHttp;
    }

    /// <summary>The router's transport to the enclave worker.</summary>
    public IFrameTransport Transport { get; }

    public static async Task<ServeProcesses> StartAsync(string dataDirectory, PartitionSettings settings, CancellationToken cancellationToken)
    {
        if (settings.RemoteWorker is { } remote)
        {
            var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            Console.WriteLine($"cloister: enclave worker: remote, frames over HTTP to {remote.GetLeftPart(UriPartial.Path)} (its key broker and policy are configured where it runs)");
            return new ServeProcesses(new HttpFrameTransport(http, remote, settings.RemoteWorkerToken), null, null, http);
        }

        Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (settings.RemoteBroker is { } remoteBroker)
        {
            return await StartWithRemoteBrokerAsync(dataDirectory, remoteBroker, settings, cancellationToken);
        }

        var policyPath = Path.Combine(dataDirectory, DefaultPolicyFile.FileName);
        DefaultPolicyFile.EnsureExists(dataDirectory);
        var broker = await BrokerSupervisor.StartAsync(dataDirectory, policyPath, cancellationToken);
        WorkerSupervisor? worker = null;
        try
        {
            Console.WriteLine($"cloister: key broker pid {broker.ProcessId} at {broker.FramesUri} (the only process that reads master.key)");
            worker = await WorkerSupervisor.StartAsync(dataDirectory, broker.FramesUri, settings, cancellationToken);
            Console.WriteLine($"cloister: enclave worker pid {worker.ProcessId} over {worker.LinkDescription}");
            WarnIfUnsandboxed(settings);

            var policy = DefaultPolicyFile.Ensure(dataDirectory, worker.Measurement);
            Console.WriteLine(policy.Action == "operator"
                ? $"cloister: attestation policy {policy.Path} (the operator's; serve leaves it as it is)"
                : $"cloister: attestation policy {policy.Path} ({policy.Action}: embedded default, worker {worker.Measurement[..16]}…)");
            if (policy.AllowsSimulated)
            {
                Console.Error.WriteLine($"cloister: WARNING: the attestation policy accepts SIMULATED evidence: keys are released to a worker that no hardware attests. Fine for a quickstart on a machine without a TEE, not for production (remove \"simulated\" from appraisal.allowedTees in {policy.Path}).");
            }

            return new ServeProcesses(worker.Transport, broker, worker, null);
        }
        catch
        {
            if (worker is not null)
            {
                await worker.DisposeAsync();
            }

            await broker.DisposeAsync();
            throw;
        }
    }

    /// <summary>Only the worker is a child: the key broker (and its policy) live on the host that holds the master key.</summary>
    private static async Task<ServeProcesses> StartWithRemoteBrokerAsync(string dataDirectory, Uri broker, PartitionSettings settings, CancellationToken cancellationToken)
    {
        Console.WriteLine($"cloister: key broker: remote, at {broker.GetLeftPart(UriPartial.Path)} (its policy decides which workers get keys)");
        var worker = await WorkerSupervisor.StartAsync(dataDirectory, broker, settings, cancellationToken);
        Console.WriteLine($"cloister: enclave worker pid {worker.ProcessId} over {worker.LinkDescription}; the broker's policy must accept worker measurement {worker.Measurement}");
        WarnIfUnsandboxed(settings);
        return new ServeProcesses(worker.Transport, null, worker, null);
    }

    private static void WarnIfUnsandboxed(PartitionSettings settings)
    {
        if (settings.Unsandboxed)
        {
            Console.Error.WriteLine("cloister: WARNING: --unsafe-no-sandbox: functions run with no isolation at all.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.DisposeAsync();
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        _remoteHttp?.Dispose();
    }
}
