using Cloister.Crypto.Hpke;
using Cloister.Enclave.Attestation;
using Cloister.Enclave.Sealed;
using Cloister.Protocol;

namespace Cloister.Enclave.Tests.Sealed;

/// <summary>One tenant's burst of sealed requests does not cost another tenant its sealing session, frame in, frame out.</summary>
public sealed class SealedSessionFairnessTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-session-fairness-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // The production bounds scaled down (1,024 per tenant, 16,384 in all): a burst beyond the whole pool then costs 40
    // HPKE requests instead of 16,400 (47 s on the loaded test machine).
    private const int PerTenant = 8;
    private const int Capacity = 32;

    [Fact]
    public async Task ATenantsBurstOfSealedStarts_BeyondTheWorkersWholeCapacity_LeavesAnotherTenantsSessionWorking()
    {
        var evidence = SimulatedEvidenceProvider.LoadOrCreate(_directory, LocalAttestation.InProcessMeasurement);
        var identity = new WorkerIdentity(evidence, LocalAttestation.InProcessMeasurement) { Sessions = new SealedSessions(TimeProvider.System, PerTenant, Capacity) };
        var workerKey = identity.KeyPair.PublicKey;
        using var host = new EnclaveHost(new NoBroker(), null, identity);

        // Tenant B starts a session with an HPKE request (a sealed reveal of no tokens needs no keys).
        var first = SealedBox.Seal(workerKey, SealedPayloads.RevealPurpose, [], EmptyReveal, out var firstReply, out var session);
        firstReply.Dispose();
        Assert.IsType<SealedRevealResponse>(await SendAsync(host, Reveal("tenant-b", first)));

        // Tenant A starts more sessions than the whole worker keeps.
        for (var i = 0; i < Capacity + 8; i++)
        {
            var box = SealedBox.Seal(workerKey, SealedPayloads.RevealPurpose, [], EmptyReveal, out var reply, out _);
            reply.Dispose();
            Assert.IsType<SealedRevealResponse>(await SendAsync(host, Reveal("tenant-a", box)));
        }

        // B's next request, sealed in its session, still opens: no session-unknown, no fallback to HPKE.
        var again = session.Seal(SealedPayloads.RevealPurpose, [], EmptyReveal, out var againReply);
        againReply.Dispose();
        Assert.IsType<SealedRevealResponse>(await SendAsync(host, Reveal("tenant-b", again)));
        Assert.Equal(PerTenant, identity.Sessions.CountOf("tenant-a"));

        // A session is the tenant's: the same box in another tenant's request names a session unknown there.
        var elsewhere = session.Seal(SealedPayloads.RevealPurpose, [], EmptyReveal, out var elsewhereReply);
        elsewhereReply.Dispose();
        Assert.Equal(SealedErrorCodes.SessionUnknown, Assert.IsType<EnclaveErrorResponse>(await SendAsync(host, Reveal("tenant-a", elsewhere))).Error.Code);
    }

    private static byte[] EmptyReveal => SealedPayloads.Encode(new SealedRevealPayload([]));

    private static SealedRevealRequest Reveal(string tenantId, byte[] box) => new([], box) { TenantId = tenantId };

    private static async Task<EnclaveResponse> SendAsync(EnclaveHost host, EnclaveRequest request)
        => EnclaveCodec.DecodeResponse(await host.HandleAsync(EnclaveCodec.Encode(request), CancellationToken.None))!;

    private sealed class NoBroker : IFrameTransport
    {
        public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
            => throw new InvalidOperationException("no broker in this test");
    }
}
