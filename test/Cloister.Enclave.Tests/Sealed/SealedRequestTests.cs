using System.Security.Cryptography;
using Cloister.Crypto.Hpke;
using Cloister.Enclave.Attestation;
using Cloister.Protocol;
using Cloister.Protocol.Attestation;

namespace Cloister.Enclave.Tests.Sealed;

/// <summary>The worker's side of sealed operations, frame in, frame out.</summary>
public sealed class SealedRequestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-sealed-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<EnclaveResponse> SendAsync(EnclaveHost host, EnclaveRequest request)
        => EnclaveCodec.DecodeResponse(await host.HandleAsync(EnclaveCodec.Encode(request), CancellationToken.None))!;

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

    private sealed class NoBroker : IFrameTransport
    {
        public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
            => throw new InvalidOperationException("no broker in this test");
    }
}
