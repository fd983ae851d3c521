using System.Collections.Concurrent;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Client;
using Cloister.Enclave.Attestation;
using Cloister.IntegrationTests.Support;
using Cloister.Protocol;
using Microsoft.Extensions.Logging;

namespace Cloister.IntegrationTests.Sealed;

/// <summary>Records every frame the router sends to and receives from the enclave.</summary>
public sealed class RecordingTransport(IFrameTransport inner) : IFrameTransport
{
    private readonly ConcurrentQueue<byte[]> _frames = new();

    /// <summary>Every request and response frame, in order.</summary>
    public IReadOnlyList<byte[]> Frames => [.. _frames];

    public async ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        _frames.Enqueue(request.ToArray());
        var response = await inner.SendAsync(request, cancellationToken);
        _frames.Enqueue(response);
        return response;
    }
}

/// <summary>
/// A test router whose in-process worker attests with simulated evidence (every in-process partition does), with the
/// matching client policy: the data directory's simulated attester key and the in-process worker measurement.
/// </summary>
public sealed class SealedServer : IAsyncDisposable
{
    private readonly string _attesterKeyPem;
    private readonly TempDirectory _policyDirectory = TempDirectory.Create("policy");

    private SealedServer(string attesterKeyPem, TestServer server, RecordingTransport recorder)
    {
        _attesterKeyPem = attesterKeyPem;
        WorkerMeasurement = LocalAttestation.InProcessMeasurement;
        Server = server;
        Recorder = recorder;
        Policy = PolicyFor([WorkerMeasurement]);
        PolicyPath = WritePolicy(Policy);
    }

    public TestServer Server { get; }

    /// <summary>What the router sent to and received from the enclave.</summary>
    public RecordingTransport Recorder { get; }

    public string WorkerMeasurement { get; }

    /// <summary>A policy that allows this server's simulated worker.</summary>
    public AttestationPolicyFile Policy { get; }

    /// <summary><see cref="Policy"/> written to a file.</summary>
    public string PolicyPath { get; }

    public static async Task<SealedServer> StartAsync(LogLevel logLevel = LogLevel.Information)
    {
        RecordingTransport? recorder = null;
        var server = await TestServer.StartAsync(logLevel: logLevel, wrapEnclave: inner => recorder = new RecordingTransport(inner));
        var pem = await File.ReadAllTextAsync(Path.Combine(server.DataDirectory, SimulatedEvidenceProvider.PublicKeyFileName));
        return new SealedServer(pem, server, recorder!);
    }

    /// <summary>A policy trusting <paramref name="workers"/>, allowing simulated evidence from this server's attester unless told otherwise.</summary>
    public AttestationPolicyFile PolicyFor(IReadOnlyList<string> workers, bool allowSimulated = true, IReadOnlyDictionary<string, IReadOnlyList<string>>? functions = null)
        => new()
        {
            Appraisal = new AppraisalPolicy
            {
                Id = "sealed-test",
                AllowedTees = allowSimulated
                    ? new HashSet<TeeType> { TeeType.SevSnp, TeeType.Tdx, TeeType.Nitro, TeeType.Simulated }
                    : new HashSet<TeeType> { TeeType.SevSnp, TeeType.Tdx, TeeType.Nitro },
            },
            SimulatedAttesterKey = _attesterKeyPem,
            Workers = [.. workers.Select(w => new WorkerRule(w, ["*"]))],
            Functions = functions ?? new Dictionary<string, IReadOnlyList<string>>(),
        };

    public string WritePolicy(AttestationPolicyFile policy)
    {
        var path = _policyDirectory.File($"policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, policy.Serialize());
        return path;
    }

    /// <summary>An SDK client for <paramref name="tenant"/>, its requests passing through <paramref name="handler"/> when given.</summary>
    public CloisterClient Client(TenantHandle tenant, DelegatingHandler? handler = null, TimeSpan? attestationMaxAge = null)
    {
        var inner = new SocketsHttpHandler();
        HttpMessageHandler pipeline = inner;
        if (handler is not null)
        {
            handler.InnerHandler = inner;
            pipeline = handler;
        }

        return new CloisterClient(new HttpClient(pipeline) { BaseAddress = Server.BaseAddress }, tenant.Key)
        {
            AttestationMaxAge = attestationMaxAge ?? CloisterClient.DefaultAttestationMaxAge,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _policyDirectory.Dispose();
    }
}
