using System.Text.Json;
using System.Text.Json.Nodes;
using Cloister.Crypto.Hpke;
using Cloister.IntegrationTests.Support;
using Cloister.Protocol;

namespace Cloister.IntegrationTests.Sealed;

/// <summary>
/// The SDK reuses a verified attestation for <c>AttestationMaxAge</c> and seals later calls in the session the first
/// started; it attests again when the attestation is older, under another policy, or when the reused one fails (the
/// worker no longer opens the box or forgot the session, or does not attest the pinned function).
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

    [Fact]
    public async Task LaterCalls_AndABatchsOtherItems_AreSealedInTheSessionTheFirstBoxStarted()
    {
        var boxes = new List<byte[]>();
        var handler = new RewritingHandler((path, _, content) =>
        {
            if (path is "/v1/sealed/tokens" or "/v1/sealed/reveal")
            {
                var body = JsonNode.Parse(content!.ReadAsStringAsync().GetAwaiter().GetResult())!.AsObject();
                var texts = body["items"] is JsonArray items ? items.Select(i => i!["sealedValue"]!.GetValue<string>()) : [body["sealedRequest"]!.GetValue<string>()];
                lock (boxes)
                {
                    boxes.AddRange(texts.Select(Convert.FromBase64String));
                }
            }

            return content;
        });
        var client = _sealed.Client(Server.DefaultTenant, handler);

        var batch = await client.CreateSealedTokensAsync([("s-1", null), ("s-2", null), ("s-3", null)], _sealed.Policy);
        var single = await client.CreateSealedTokenAsync("s-4", _sealed.Policy);
        Assert.Equal("s-2", await client.RevealSealedAsync(batch.Items[1].Token, _sealed.Policy));
        Assert.Equal("s-4", await client.RevealSealedAsync(single.Token, _sealed.Policy));

        // The first item is HPKE to the worker's key; every later box names the session it started.
        Assert.Equal([SealedBox.Version, SealedSession.Version, SealedSession.Version, SealedSession.Version, SealedSession.Version, SealedSession.Version], boxes.Select(b => b[0]));
        Assert.Single(boxes.Skip(1).Select(b => SealedSession.IdOf(b)).Distinct());
        Assert.Equal(1, handler.Attestations);
    }

    [Fact]
    public async Task ASessionTheWorkerForgot_MakesTheClientAttestAgain_AndSealToTheKey()
    {
        // The second call's session box names an unknown session, as after a worker restart or eviction.
        var handler = new RewritingHandler((path, n, content) => path == "/v1/sealed/tokens" && n == 2 ? WithUnknownSession(content!) : content);
        var client = _sealed.Client(Server.DefaultTenant, handler);
        _ = await client.CreateSealedTokenAsync("first", _sealed.Policy);

        var created = await client.CreateSealedTokenAsync("after-forgetting", _sealed.Policy);

        Assert.Equal("after-forgetting", (await Server.SendAsync(HttpMethod.Post, $"/v1/tokens/{created.Token}/reveal", Server.DefaultTenant.Key)).Expect(200).Text("value"));
        Assert.Equal(["/v1/attestation", "/v1/sealed/tokens", "/v1/sealed/tokens", "/v1/attestation", "/v1/sealed/tokens"], handler.Paths.Select(p => p.TrimEnd('/')));
    }

    [Fact]
    public async Task AnUnknownSession_IsAProblemNamingIt()
    {
        var box = new byte[SealedSession.Overhead + 4];
        box[0] = SealedSession.Version;
        var item = new { sealedValue = Convert.ToBase64String(box), format = "random", classifier = "generic" };

        var refused = await Server.SendAsync(HttpMethod.Post, "/v1/sealed/tokens", Server.DefaultTenant.Key, TestServer.Json(new { items = new[] { item } }));

        ProblemAssert.Is(refused, 400, SealedErrorCodes.SessionUnknown);
    }

    private static StringContent WithUnknownSession(HttpContent content) => WithFirstItem(content, item =>
    {
        var box = Convert.FromBase64String(item["sealedValue"]!.GetValue<string>());
        Assert.Equal(SealedSession.Version, box[0]);
        box[1] ^= 0xff;
        return box;
    });

    private static StringContent SealedToAnotherKey(HttpContent content) => WithFirstItem(content, item =>
    {
        using var other = HpkeKeyPair.Generate();
        var aad = SealedPayloads.TokenizeAad(item["format"]!.GetValue<string>(), null, item["classifier"]!.GetValue<string>(), item["deterministic"]!.GetValue<bool>());
        return SealedBox.Seal(other.PublicKey, SealedPayloads.TokenizePurpose, aad, "other-key"u8);
    });

    /// <summary>A sealed tokenize body whose first item's sealed value is replaced by what <paramref name="replace"/> makes of the item.</summary>
    private static StringContent WithFirstItem(HttpContent content, Func<JsonObject, byte[]> replace)
    {
        var body = JsonNode.Parse(content.ReadAsStringAsync().GetAwaiter().GetResult())!.AsObject();
        var item = body["items"]![0]!.AsObject();
        item["sealedValue"] = Convert.ToBase64String(replace(item));
        return new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
    }
}
