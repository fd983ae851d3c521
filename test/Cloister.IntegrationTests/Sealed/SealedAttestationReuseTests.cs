using System.Text.Json;
using System.Text.Json.Nodes;
using Cloister.Crypto.Hpke;
using Cloister.IntegrationTests.Support;
using Cloister.Protocol;

namespace Cloister.IntegrationTests.Sealed;

/// <summary>
/// The SDK reuses a verified attestation for <c>AttestationMaxAge</c>, attests again when it is older, under another
/// policy, or when the reused one fails (the worker no longer opens the box, or does not attest the pinned function).
/// </summary>
public sealed class SealedAttestationReuseTests : IAsyncLifetime
{
    private SealedServer _sealed = null!;

    public async Task InitializeAsync() => _sealed = await SealedServer.StartAsync();

    public async Task DisposeAsync() => await _sealed.DisposeAsync();

    private TestServer Server => _sealed.Server;

    [Fact]
    public async Task SealedCalls_ReuseOneVerifiedAttestation()
    {
        var handler = new RewritingHandler();
        var client = _sealed.Client(Server.DefaultTenant, handler);

        var token = (await client.CreateSealedTokenAsync("reused-1", _sealed.Policy)).Token;
        _ = await client.CreateSealedTokenAsync("reused-2", _sealed.Policy);
        Assert.Equal("reused-1", await client.RevealSealedAsync(token, _sealed.Policy));

        Assert.Equal(1, handler.Attestations);
    }

    [Fact]
    public async Task AttestationMaxAgeZero_AttestsOnEveryCall()
    {
        var handler = new RewritingHandler();
        var client = _sealed.Client(Server.DefaultTenant, handler, attestationMaxAge: TimeSpan.Zero);

        for (var i = 0; i < 3; i++)
        {
            _ = await client.CreateSealedTokenAsync("fresh-" + i, _sealed.Policy);
        }

        Assert.Equal(3, handler.Attestations);
    }

    [Fact]
    public async Task AnAttestationOlderThanMaxAge_OrUnderAnotherPolicy_IsNotReused()
    {
        var handler = new RewritingHandler();
        var client = _sealed.Client(Server.DefaultTenant, handler, attestationMaxAge: TimeSpan.FromMilliseconds(300));

        _ = await client.CreateSealedTokenAsync("aged-1", _sealed.Policy);
        await Task.Delay(500);
        _ = await client.CreateSealedTokenAsync("aged-2", _sealed.Policy);
        Assert.Equal(2, handler.Attestations);

        var otherPolicy = _sealed.PolicyFor([_sealed.WorkerMeasurement]);
        _ = await client.CreateSealedTokenAsync("aged-3", otherPolicy);
        Assert.Equal(3, handler.Attestations);
    }

    [Fact]
    public async Task ABoxTheWorkerDoesNotOpen_MakesTheClientAttestAgain_AndSendOnceMore()
    {
        // The second sealed create goes out sealed to another key, as if the worker had restarted since the attestation.
        var handler = new RewritingHandler((path, n, content) => path == "/v1/sealed/tokens" && n == 2 ? SealedToAnotherKey(content!) : content);
        var client = _sealed.Client(Server.DefaultTenant, handler);
        _ = await client.CreateSealedTokenAsync("before", _sealed.Policy);

        var created = await client.CreateSealedTokenAsync("after-restart", _sealed.Policy);

        Assert.Equal("after-restart", (await Server.SendAsync(HttpMethod.Post, $"/v1/tokens/{created.Token}/reveal", Server.DefaultTenant.Key)).Expect(200).Text("value"));
        Assert.Equal(["/v1/attestation", "/v1/sealed/tokens", "/v1/sealed/tokens", "/v1/attestation", "/v1/sealed/tokens"], handler.Paths.Select(p => p.TrimEnd('/')));
    }

    [Fact]
    public async Task AFreshAttestationTheWorkerDoesNotOpen_IsNotRetried()
    {
        var handler = new RewritingHandler((path, _, content) => path == "/v1/sealed/tokens" ? SealedToAnotherKey(content!) : content);
        var client = _sealed.Client(Server.DefaultTenant, handler);

        var refused = await Assert.ThrowsAsync<Cloister.Client.CloisterApiException>(() => client.CreateSealedTokenAsync("never", _sealed.Policy));

        Assert.Equal(SealedErrorCodes.SealedBoxInvalid, refused.Problem.Code);
        Assert.Equal(1, handler.Attestations);
    }

    [Fact]
    public async Task AFunctionDeployedAfterTheAttestation_IsPinnedAfterAttestingAgain()
    {
        var handler = new RewritingHandler();
        var client = _sealed.Client(Server.DefaultTenant, handler);
        _ = await client.CreateSealedTokenAsync("first", _sealed.Policy);
        var name = "reuse-" + Guid.NewGuid().ToString("N")[..10];
        var measurement = (await Server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, Server.DefaultTenant.Key, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201).Text("measurement");

        var result = await client.InvokeSealedAsync(name, JsonDocument.Parse("{}").RootElement, _sealed.Policy, measurement);

        Assert.Equal(measurement, result.Measurement);
        Assert.Equal(2, handler.Attestations);
    }

    private static StringContent SealedToAnotherKey(HttpContent content)
    {
        var body = JsonNode.Parse(content.ReadAsStringAsync().GetAwaiter().GetResult())!.AsObject();
        using var other = HpkeKeyPair.Generate();
        var item = body["items"]![0]!.AsObject();
        var aad = SealedPayloads.TokenizeAad(item["format"]!.GetValue<string>(), null, item["classifier"]!.GetValue<string>(), item["deterministic"]!.GetValue<bool>());
        item["sealedValue"] = Convert.ToBase64String(SealedBox.Seal(other.PublicKey, SealedPayloads.TokenizePurpose, aad, "other-key"u8));
        return new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
    }
}
