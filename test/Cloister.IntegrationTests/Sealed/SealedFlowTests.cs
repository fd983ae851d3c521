using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Api.Contracts;
using Cloister.Client;
using Cloister.Client.Sealed;
using Cloister.Crypto.Hpke;
using Cloister.IntegrationTests.Support;
using Cloister.Protocol;

namespace Cloister.IntegrationTests.Sealed;

/// <summary>
/// Sealed tokenize, reveal and invoke end to end over HTTP: the SDK verifies the simulated worker, seals to it, and
/// opens the answers; the worker refuses boxes whose metadata, tokens or pinned measurement the router changed.
/// </summary>
public sealed class SealedFlowTests : IAsyncLifetime
{
    private SealedServer _sealed = null!;

    private TestServer Server => _sealed.Server;

    public async Task InitializeAsync() => _sealed = await SealedServer.StartAsync();

    public async Task DisposeAsync() => await _sealed.DisposeAsync();

    private static string Name() => "sealed-" + Guid.NewGuid().ToString("N")[..10];

    private async Task<byte[]> WorkerKeyAsync(TenantHandle tenant)
    {
        var attestation = await _sealed.Client(tenant).AttestAsync(_sealed.Policy);
        return attestation.PublicKey;
    }

    [Fact]
    public async Task SealedTokens_RevealSealed_AndUnsealed_ToTheSameValues()
    {
        var tenant = await Server.CreateTenantAsync();
        var client = _sealed.Client(tenant);
        var card = Values.Card(16, "41");
        var batch = await client.CreateSealedTokensAsync(
            [("sealed-secret", null), (card, new TokenizeOptions(Format: "pan-last4", Classifier: "card")), (card, new TokenizeOptions(Format: "fpe")), ("same", new TokenizeOptions(Deterministic: true))],
            _sealed.Policy);
        Assert.Equal(4, batch.Items.Count);
        Assert.Equal(card[^4..], batch.Items[1].Token[^4..]);
        Assert.Equal(("card", "digits"), (batch.Items[1].Classifier, batch.Items[2].Alphabet));
        var again = await client.CreateSealedTokenAsync("same", _sealed.Policy, new TokenizeOptions(Deterministic: true));
        Assert.Equal(batch.Items[3].Token, again.Token);

        var tokens = batch.Items.Select(i => i.Token).ToList();
        var revealed = await client.RevealSealedAsync(tokens, _sealed.Policy);
        Assert.Equal(["sealed-secret", card, card, "same"], revealed.Select(r => r.Value));
        Assert.Equal("sealed-secret", await client.RevealSealedAsync(tokens[0], _sealed.Policy));
        Assert.Equal(card, await Server.RevealValueAsync(tenant.Key, tokens[1]));
    }

    [Fact]
    public async Task SealedTokenize_WithMetadataChangedByTheRouter_IsRefusedByTheWorker()
    {
        var tenant = await Server.CreateTenantAsync();
        var key = await WorkerKeyAsync(tenant);
        var box = SealedBox.Seal(key, SealedPayloads.TokenizePurpose, SealedPayloads.TokenizeAad("random", null, "generic", false), "4111111111111111"u8);
        var item = new { sealedValue = Convert.ToBase64String(box), format = "pan-last4", classifier = "generic" };

        var refused = await Server.SendAsync(HttpMethod.Post, "/v1/sealed/tokens", tenant.Key, TestServer.Json(new { items = new[] { item } }));

        ProblemAssert.Is(refused, 400, SealedErrorCodes.SealedBoxInvalid);
        var wrongKey = await Server.SendAsync(HttpMethod.Post, "/v1/sealed/tokens", tenant.Key, TestServer.Json(new { items = new[] { new { sealedValue = Convert.ToBase64String(SealedBox.Seal(HpkeKeyPair.Generate().PublicKey, SealedPayloads.TokenizePurpose, SealedPayloads.TokenizeAad("random", null, "generic", false), "x"u8)) } } }));
        ProblemAssert.Is(wrongKey, 400, SealedErrorCodes.SealedBoxInvalid);
    }

    [Fact]
    public async Task SealedReveal_OfOtherTokensThanTheClientSealed_IsRefusedByTheWorker()
    {
        var tenant = await Server.CreateTenantAsync();
        var a = await Server.CreateTokenAsync(tenant.Key, new { value = "value-a" });
        var b = await Server.CreateTokenAsync(tenant.Key, new { value = "value-b" });
        var payload = SealedPayloads.Encode(new SealedRevealPayload([a]));
        var box = SealedBox.Seal(await WorkerKeyAsync(tenant), SealedPayloads.RevealPurpose, [], payload, out var replyKey);
        using var disposeReplyKey = replyKey;

        var swapped = await Server.SendAsync(HttpMethod.Post, "/v1/sealed/reveal", tenant.Key, TestServer.Json(new { tokens = new[] { b }, sealedRequest = Convert.ToBase64String(box) }));
        ProblemAssert.Is(swapped, 400, SealedErrorCodes.TokensMismatch);

        var ok = (await Server.SendAsync(HttpMethod.Post, "/v1/sealed/reveal", tenant.Key, TestServer.Json(new { tokens = new[] { a }, sealedRequest = Convert.ToBase64String(box) }))).Expect(200);
        Assert.DoesNotContain("value-a", ok.Body, StringComparison.Ordinal);
        var opened = replyKey.Open(SealedPayloads.TokensAad([a]), Convert.FromBase64String(ok.Text("sealedResult")));
        Assert.Equal("value-a", SealedPayloads.DecodeRevealResult(opened)!.Values[0].Value);
        ProblemAssert.Is(await Server.SendAsync(HttpMethod.Post, "/v1/sealed/reveal", (await Server.CreateTenantAsync()).Key, TestServer.Json(new { tokens = new[] { a }, sealedRequest = Convert.ToBase64String(box) })), 404, "token-not-found");
    }

    [Fact]
    public async Task APayloadOfTheEarlierFormat_WithAResponseKey_IsRefusedBeforeAnythingRuns()
    {
        // A client of the earlier format would wait for an answer sealed to its "responseKey": refuse it rather than reveal.
        var tenant = await Server.CreateTenantAsync();
        var token = await Server.CreateTokenAsync(tenant.Key, new { value = "old-format" });
        var payload = System.Text.Encoding.UTF8.GetBytes($$"""{"tokens":["{{token}}"],"responseKey":"04{{new string('a', 128)}}"}""");
        var box = SealedBox.Seal(await WorkerKeyAsync(tenant), SealedPayloads.RevealPurpose, [], payload);

        var refused = await Server.SendAsync(HttpMethod.Post, "/v1/sealed/reveal", tenant.Key, TestServer.Json(new { tokens = new[] { token }, sealedRequest = Convert.ToBase64String(box) }));

        ProblemAssert.Is(refused, 400, SealedErrorCodes.SealedBoxInvalid);
    }

    [Fact]
    public async Task SealedInvoke_Sync_And_Async_ReturnTheSealedResultAndLogs()
    {
        var tenant = await Server.CreateTenantAsync();
        var name = Name();
        var measurement = (await Server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, tenant.Key,
            FunctionBundles.Python("def handle(event, ctx):\n    ctx.log('got ' + event['word'])\n    return {'upper': event['word'].upper()}\n"))).Expect(201).Text("measurement");
        var client = _sealed.Client(tenant);
        var args = JsonDocument.Parse("""{"word":"sealed"}""").RootElement;

        var result = await client.InvokeSealedAsync(name, args, _sealed.Policy, measurement);
        Assert.Equal("SEALED", result.Result.GetProperty("upper").GetString());
        Assert.Equal(["got sealed"], result.Logs);
        Assert.Equal(measurement, result.Measurement);

        // The policy's pin works as well as an explicit one.
        var pinned = _sealed.PolicyFor([_sealed.WorkerMeasurement], functions: new Dictionary<string, IReadOnlyList<string>> { [name] = [measurement] });
        using var pending = await client.StartSealedInvocationAsync(name, args, pinned);
        InvocationInfo info;
        do
        {
            await Task.Delay(100);
            info = await client.GetInvocationAsync(pending.InvocationId);
        }
        while (info.Status == "running");

        Assert.Equal("succeeded", info.Status);
        Assert.DoesNotContain("SEALED", info.Result!, StringComparison.Ordinal);
        Assert.Equal("SEALED", pending.Open(info).Result.GetProperty("upper").GetString());
    }

    [Fact]
    public async Task SealedInvoke_FunctionErrors_ArriveSealed()
    {
        var tenant = await Server.CreateTenantAsync();
        var name = Name();
        var measurement = (await Server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, tenant.Key,
            FunctionBundles.Python("def handle(event, ctx):\n    raise ValueError('bad ' + event['word'])\n"))).Expect(201).Text("measurement");

        var failed = await Assert.ThrowsAsync<SealedInvocationException>(() => _sealed.Client(tenant).InvokeSealedAsync(name, JsonDocument.Parse("""{"word":"input"}""").RootElement, _sealed.Policy, measurement));

        Assert.Equal("handler-error", failed.Code);
        Assert.StartsWith("inv_", failed.InvocationId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SealedInvoke_WorkerRefusesADeployedVersionOtherThanThePinnedMeasurement()
    {
        var tenant = await Server.CreateTenantAsync();
        var name = Name();
        var v1 = (await Server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, tenant.Key, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201).Text("measurement");
        var key = await WorkerKeyAsync(tenant);
        (await Server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, tenant.Key, FunctionBundles.Python("def handle(event, ctx):\n    return {'v': 2}\n"))).Expect(201);
        var payload = SealedPayloads.Encode(new SealedInvokePayload(name, v1, JsonDocument.Parse("{}").RootElement));
        var box = Convert.ToBase64String(SealedBox.Seal(key, SealedPayloads.InvokePurpose, [], payload));

        // A router that runs the latest version (v2) although the client pinned v1: the worker refuses.
        var refused = await Server.SendAsync(HttpMethod.Post, $"/v1/sealed/functions/{name}/invoke", tenant.Key, TestServer.Json(new { sealedInput = box }));
        ProblemAssert.Is(refused, 409, SealedErrorCodes.PinMismatch);

        // Honest routers refuse first: the clear pin no longer matches the latest version.
        ProblemAssert.Is(await Server.SendAsync(HttpMethod.Post, $"/v1/sealed/functions/{name}/invoke", tenant.Key, TestServer.Json(new { sealedInput = box, measurement = v1 })), 409, "version-mismatch");
        var sdk = await Assert.ThrowsAsync<CloisterApiException>(() => _sealed.Client(tenant).InvokeSealedAsync(name, JsonDocument.Parse("{}").RootElement, _sealed.Policy, v1));
        Assert.Equal(409, sdk.Status);
        ProblemAssert.Is(await Server.SendAsync(HttpMethod.Post, $"/v1/sealed/functions/{name}/invoke", tenant.Key, TestServer.Json(new { sealedInput = Convert.ToBase64String(RandomNumberGenerator.GetBytes(120)) })), 400, SealedErrorCodes.SealedBoxInvalid);
    }
}
