using System.Security.Cryptography;
using Cloister.Crypto.Hpke;
using Cloister.Enclave.Attestation;
using Cloister.Enclave.Sealed;
using Cloister.Protocol;
using Cloister.Protocol.Attestation;

namespace Cloister.Enclave.Tests.Sealed;

/// <summary>The worker's side of sealed operations, frame in, frame out.</summary>
public sealed class SealedRequestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-sealed-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<EnclaveResponse> SendAsync(EnclaveHost host, EnclaveRequest request)
        => Frames.Enclave.DecodeResponse(await host.HandleAsync(Frames.Enclave.Encode(request), CancellationToken.None))!;

    [Fact]
    public async Task WithoutAnIdentity_AttestationAndSealedRequests_AreUnavailable()
    {
        using var host = new EnclaveHost(new NoBroker());
        var attest = await SendAsync(host, new AttestationRequest(new byte[16], []) { TenantId = "t" });
        var tokenize = await SendAsync(host, new SealedTokenizeRequest(1, [new SealedTokenizeItem([1, 2, 3], "random", null, "generic", false)]) { TenantId = "t" });

        Assert.Equal(SealedErrorCodes.AttestationUnavailable, Assert.IsType<EnclaveErrorResponse>(attest).Error.Code);
        Assert.Equal(SealedErrorCodes.AttestationUnavailable, Assert.IsType<EnclaveErrorResponse>(tokenize).Error.Code);
    }

    [Fact]
    public async Task Attest_BindsTheNonceKeyAndFunctions_InCanonicalClaims()
    {
        var attestation = LocalAttestation.CreateSimulated(_directory);
        var publicKey = attestation.Identity.KeyPair.PublicKey;
        using var host = new EnclaveHost(new NoBroker(), null, attestation.Identity);
        var nonce = RandomNumberGenerator.GetBytes(32);
        var function = new string('e', 96);

        var response = Assert.IsType<AttestationResponse>(await SendAsync(host, new AttestationRequest(nonce, [function]) { TenantId = "t" }));

        Assert.Equal("simulated", response.Tee);
        Assert.True(WorkerClaims.TryParse(response.Claims, out var claims, out _));
        Assert.Equal(nonce, claims.Nonce);
        Assert.Equal(publicKey, claims.PublicKey);
        Assert.Equal([function], claims.Functions);
        Assert.Equal(SealedErrorCodes.SealedBoxInvalid, ((EnclaveErrorResponse)await SendAsync(host, new SealedTokenizeRequest(1,
            [new SealedTokenizeItem(SealedBox.Seal(publicKey, SealedPayloads.TokenizePurpose, SealedPayloads.TokenizeAad("random", null, "generic", false), "v"u8), "numeric", null, "generic", false)]) { TenantId = "t" })).Error.Code);
        Assert.Equal(EnclaveErrorCodes.BadRequest, ((EnclaveErrorResponse)await SendAsync(host, new AttestationRequest(new byte[8], []) { TenantId = "t" })).Error.Code);
    }

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

    private sealed class NoBroker : IFrameTransport
    {
        public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
            => throw new InvalidOperationException("no broker in this test");
    }
}
