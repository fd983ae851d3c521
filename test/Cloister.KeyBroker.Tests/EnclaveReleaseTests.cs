using Cloister.Enclave;
using Cloister.Enclave.Attestation;
using Cloister.Protocol;

namespace Cloister.KeyBroker.Tests;

/// <summary>The enclave's side: EnclaveHost attests transparently and uses the keys the broker releases to it.</summary>
public sealed class EnclaveReleaseTests : IDisposable
{
    private readonly BrokerHarness _broker = new();

    public void Dispose() => _broker.Dispose();

    [Fact]
    public async Task Enclave_AttestsAndUsesTheReleasedKeys_AfterTheSessionExpiresToo()
    {
        var attestation = LocalAttestation.CreateSimulated(_broker.Directory);
        _broker.WritePolicy(attestation.Policy);
        await using var enclave = new EnclaveHost(new InProcessTransport(_broker.Broker), null, attestation.Identity);

        var (token, keys) = await TokenizeAsync(enclave, "acme", "4111111111111111");
        Assert.Equal("4111111111111111", await RevealAsync(enclave, "acme", token, keys));
        Assert.Equal("release", _broker.LastAudit().GetProperty("event").GetString());

        // Past the session's lifetime the broker answers attestation-required; the enclave re-attests and retries.
        _broker.Clock.Advance(TimeSpan.FromMinutes(11));
        var (other, otherKeys) = await TokenizeAsync(enclave, "globex", "secret value");
        Assert.Equal("secret value", await RevealAsync(enclave, "globex", other, otherKeys));
        var events = _broker.AuditLines().Select(line => (line.GetProperty("event").GetString(), line.GetProperty("reason").GetString())).ToList();
        Assert.Equal([("release", null), ("refusal", BrokerErrorCodes.AttestationRequired), ("release", null)], events);
    }

    [Fact]
    public async Task Enclave_WhoseAttestationIsRefused_IsKeyUnavailable()
    {
        var attestation = LocalAttestation.CreateSimulated(_broker.Directory);
        _broker.WritePolicy(attestation.Policy with { Workers = [new(BrokerHarness.OtherMeasurement, ["*"])] });
        await using var enclave = new EnclaveHost(new InProcessTransport(_broker.Broker), null, attestation.Identity);
        var created = await SendAsync<CreateTenantKeysResponse>(enclave, new CreateTenantKeysRequest { TenantId = "acme" });

        var response = await SendAsync<EnclaveErrorResponse>(enclave, new FingerprintRequest("v") { TenantId = "acme", Keys = created.Keys });

        Assert.Equal(EnclaveErrorCodes.KeyUnavailable, response.Error.Code);
        Assert.Contains(BrokerErrorCodes.AttestationRefused, response.Error.Detail, StringComparison.Ordinal);
        Assert.Contains("worker-measurement", _broker.LastAudit().GetProperty("checks").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task Enclave_WithoutAnIdentity_IsKeyUnavailable_WithAClearReason()
    {
        await using var enclave = new EnclaveHost(new InProcessTransport(_broker.Broker), null);
        var created = await SendAsync<CreateTenantKeysResponse>(enclave, new CreateTenantKeysRequest { TenantId = "acme" });

        var response = await SendAsync<EnclaveErrorResponse>(enclave, new FingerprintRequest("v") { TenantId = "acme", Keys = created.Keys });

        Assert.Equal(EnclaveErrorCodes.KeyUnavailable, response.Error.Code);
        Assert.Contains("attest", response.Error.Detail, StringComparison.Ordinal);
    }

    private static async Task<(RevealItem Stored, IReadOnlyList<WrappedKey> Keys)> TokenizeAsync(EnclaveHost enclave, string tenantId, string value)
    {
        var keys = (await SendAsync<CreateTenantKeysResponse>(enclave, new CreateTenantKeysRequest { TenantId = tenantId })).Keys;
        var tokenized = await SendAsync<TokenizeResponse>(enclave, new TokenizeRequest(1, [new TokenizeItem(value, "random", null, "default", false)]) { TenantId = tenantId, Keys = keys });
        var result = Assert.Single(tokenized.Results);
        Assert.Null(result.Error);
        return (new RevealItem(result.Token!, "random", null, 1, result.Ciphertext), keys);
    }

    private static async Task<string> RevealAsync(EnclaveHost enclave, string tenantId, RevealItem stored, IReadOnlyList<WrappedKey> keys)
    {
        var revealed = await SendAsync<RevealResponse>(enclave, new RevealRequest([stored]) { TenantId = tenantId, Keys = keys });
        return Assert.Single(revealed.Results).Value!;
    }

    private static async Task<T> SendAsync<T>(EnclaveHost enclave, EnclaveRequest request)
        where T : EnclaveResponse
        => Assert.IsType<T>(Frames.Enclave.DecodeResponse(await enclave.HandleAsync(Frames.Enclave.Encode(request), CancellationToken.None)));
}
