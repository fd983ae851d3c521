using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cloister.Client.Sealed;
using Cloister.Crypto.Hpke;
using Cloister.IntegrationTests.Support;
using Cloister.Protocol.Attestation;

namespace Cloister.IntegrationTests.Sealed;

/// <summary>
/// The client refuses a bad attestation before it sends anything sealed: each test alters the router's answer (or uses a
/// policy that must not accept it) and asserts the refusal's reason and that only attestation requests went out.
/// </summary>
public sealed class SealedRefusalTests : IAsyncLifetime
{
    private SealedServer _sealed = null!;

    public async Task InitializeAsync() => _sealed = await SealedServer.StartAsync();

    public async Task DisposeAsync() => await _sealed.DisposeAsync();

    private async Task AssertRefusedAsync(string reason, Action<JsonObject, int> alter, Cloister.Attestation.Policy.AttestationPolicyFile? policy = null, bool invoke = false)
    {
        var handler = new AlteringHandler(alter);
        var client = _sealed.Client(_sealed.Server.DefaultTenant, handler);
        policy ??= _sealed.Policy;
        var refused = await Assert.ThrowsAsync<AttestationRefusedException>(async () =>
        {
            if (invoke)
            {
                await client.InvokeSealedAsync("fn", JsonDocument.Parse("{}").RootElement, policy, new string('a', 96));
            }
            else
            {
                await client.CreateSealedTokenAsync("never-sent", policy);
            }
        });
        Assert.Equal(reason, refused.Reason);
        Assert.DoesNotContain("never-sent", refused.Message, StringComparison.Ordinal);
        Assert.False(handler.SentSealedRequest, string.Join(", ", handler.Paths));
        Assert.Contains(handler.Paths, p => p.StartsWith("/v1/attestation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnalteredAttestation_IsAccepted_AndTheTokenIsCreated()
    {
        var handler = new AlteringHandler((_, _) => { });
        var created = await _sealed.Client(_sealed.Server.DefaultTenant, handler).CreateSealedTokenAsync("accepted", _sealed.Policy);
        Assert.StartsWith("tok_", created.Token, StringComparison.Ordinal);
        Assert.True(handler.SentSealedRequest);
    }

    [Fact]
    public Task TamperedEvidence_IsRefused()
        => AssertRefusedAsync(RefusalReasons.Evidence, (json, _) =>
        {
            var evidence = Convert.FromBase64String(json["evidence"]!.GetValue<string>());
            evidence[^10] ^= 0x01; // inside the signature
            json["evidence"] = Convert.ToBase64String(evidence);
        });

    [Fact]
    public Task TamperedClaims_WithTheRoutersOwnKey_AreRefused()
        => AssertRefusedAsync(RefusalReasons.Evidence, (json, call) =>
        {
            // Canonical claims naming a key the router holds, and that key as the public key: the report data no longer matches.
            Assert.True(WorkerClaims.TryParse(Convert.FromBase64String(json["claims"]!.GetValue<string>()), out var claims, out _));
            using var routerKey = HpkeKeyPair.Generate();
            json["claims"] = Convert.ToBase64String((claims with { PublicKey = routerKey.PublicKey }).Encode());
            json["publicKey"] = Convert.ToHexStringLower(routerKey.PublicKey);
        });

    [Fact]
    public Task NonCanonicalClaims_AreRefused()
        => AssertRefusedAsync(RefusalReasons.Claims, (json, _) =>
        {
            var claims = Convert.FromBase64String(json["claims"]!.GetValue<string>());
            json["claims"] = Convert.ToBase64String([.. claims, (byte)' ']);
        });

    [Fact]
    public async Task ReplayedAttestation_CarryingAnOlderNonce_IsRefused()
    {
        // One client that attests on every call: the first answer is recorded, then replayed as the answer to the second call's nonce.
        JsonObject? first = null;
        var handler = new AlteringHandler((json, n) =>
        {
            if (n == 1)
            {
                first = (JsonObject)json.DeepClone();
                return;
            }

            foreach (var (name, value) in first!)
            {
                json[name] = value!.DeepClone();
            }
        });
        var client = _sealed.Client(_sealed.Server.DefaultTenant, handler, attestationMaxAge: TimeSpan.Zero);
        _ = await client.AttestAsync(_sealed.Policy);

        var refused = await Assert.ThrowsAsync<AttestationRefusedException>(() => client.CreateSealedTokenAsync("never-sent", _sealed.Policy));

        Assert.Equal(RefusalReasons.Nonce, refused.Reason);
        Assert.False(handler.SentSealedRequest, string.Join(", ", handler.Paths));
    }

    [Fact]
    public Task WrongWorkerMeasurement_IsRefused()
        => AssertRefusedAsync(RefusalReasons.WorkerMeasurement, (_, _) => { }, _sealed.PolicyFor([new string('b', 96)]));

    [Fact]
    public Task WrongFunctionMeasurement_IsRefused()
        => AssertRefusedAsync(RefusalReasons.FunctionMeasurement, (_, _) => { }, invoke: true);

    [Fact]
    public Task SwappedPublicKey_IsRefused()
        => AssertRefusedAsync(RefusalReasons.PublicKey, (json, _) =>
        {
            using var other = HpkeKeyPair.Generate();
            json["publicKey"] = Convert.ToHexStringLower(other.PublicKey);
        });

    [Fact]
    public Task SimulatedEvidence_UnderAPolicyThatDoesNotAllowIt_IsRefused()
        => AssertRefusedAsync(RefusalReasons.Evidence, (_, _) => { }, _sealed.PolicyFor([_sealed.WorkerMeasurement], allowSimulated: false));

    [Fact]
    public async Task AttestationRoute_RefusesABadNonce()
    {
        var key = _sealed.Server.DefaultTenant.Key;
        foreach (var nonce in new[] { "", "00", new string('0', 30), new string('0', 130), new string('g', 32), new string('0', 33) })
        {
            ProblemAssert.Is(await _sealed.Server.SendAsync(HttpMethod.Get, "/v1/attestation?nonce=" + nonce, key), 400, "invalid-nonce");
        }

        var ok = (await _sealed.Server.SendAsync(HttpMethod.Get, "/v1/attestation?nonce=" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), key)).Expect(200).Json;
        Assert.Equal("simulated", ok.GetProperty("tee").GetString());
    }
}
