using System.Text.Json;
using Cloister.Api.Contracts;
using Cloister.Attestation.Policy;
using Cloister.Client;
using Cloister.IntegrationTests.Processes;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// "Someone holding vault.db learns no value": a real <c>cloister serve</c> with real sandboxes runs every kind of
/// operation on canary values — single and batch creates, reveals, search, a refused create, sealed creates, reveals and
/// invocations, sync and async invocations that succeed and fail, before and after a key rotation — reads each
/// invocation back, and then no file of the data directory (the database, its WAL and shared-memory index, the key
/// broker's log, everything) holds any canary, as UTF-8, UTF-16, hex or base64 at any alignment.
/// </summary>
public sealed class AtRestCanaryTests
{
    private const string Echo = """
        def handle(event, ctx):
            ctx.log('card ' + event['card'] + ' secret ' + event['secret'])
            if event.get('fail'):
                raise ValueError('failed on ' + event['secret'] + ' and ' + event['card'])
            made = ctx.tokenize(event['secret'] + '-made', 'random')
            return {'card': event['card'], 'secret': event['secret'], 'made': made}
        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly Dictionary<string, string> _canaries = [];

    [Fact]
    public async Task EveryKindOfOperation_LeavesNoValueInAnyFileOfTheDataDirectory_AndEveryInvocationReadsBack()
    {
        using var data = TempDirectory.Create("at-rest");
        await using var server = await ServerProcess.StartAsync(data.Path);
        Assert.True(AttestationPolicyFile.TryLoad(Path.Combine(data.Path, "attestation-policy.json"), out var policy, out var error), error);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = Patience };
        var client = new CloisterClient(http, ServeChildren.TenantKey(data.Path));
        using var adminHttp = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = Patience };
        var admin = new CloisterClient(adminHttp, ServeChildren.AdminKey(data.Path));

        // Tokens: single creates in several formats, a batch, a reveal, a search, a refused create.
        var pan = Values.Card(16, "45");
        _canaries["pan"] = pan;
        var panToken = (await client.CreateTokenAsync(pan, new TokenizeOptions("pan", Classifier: "pan"))).Token;
        var single = (await client.CreateTokenAsync(Canary("single"))).Token;
        await client.CreateTokenAsync(Canary("deterministic"), new TokenizeOptions(Deterministic: true));
        await client.CreateTokenAsync(Canary("fpe"), new TokenizeOptions("fpe", "alnum"));
        await client.CreateTokensAsync([(Canary("batch-1"), null), (Canary("batch-2"), new TokenizeOptions("fpe", "alnum"))]);
        Assert.Equal(_canaries["single"], await client.RevealAsync(single));
        Assert.Single((await client.SearchAsync(_canaries["single"])).Tokens);
        await Assert.ThrowsAsync<CloisterApiException>(() => client.CreateTokenAsync(Canary("refused"), new TokenizeOptions("pan")));

        // The control: metadata is stored in clear by design (docs/api.md), so the scan below must find this one.
        var control = "CONTROL-" + Guid.NewGuid().ToString("N");
        await client.CreateTokenAsync(Canary("with-metadata"), new TokenizeOptions(Metadata: JsonDocument.Parse(JsonSerializer.Serialize(new { note = control })).RootElement));

        // Sealed creates and reveals.
        var sealedTokens = (await client.CreateSealedTokensAsync([(Canary("sealed-1"), null), (Canary("sealed-2"), null)], policy)).Items.Select(t => t.Token).ToList();
        Assert.Equal([_canaries["sealed-1"], _canaries["sealed-2"]], (await client.RevealSealedAsync(sealedTokens, policy)).Select(r => r.Value));

        // Functions: one that may return plaintext (it echoes the revealed card, logs it and can fail with it in the
        // message), and one that may not (its result is refused, its logs still carry the plain arg).
        var echo = await client.DeployFunctionAsync("echo", Manifest(returnPlaintext: true), Archives.TarGz(("main.py", Echo)));
        await client.DeployFunctionAsync("guarded", Manifest(returnPlaintext: false), Archives.TarGz(("main.py", Echo)));

        var sync = await client.InvokeFunctionAsync("echo", Args(panToken, "sync"));
        Assert.Equal((pan, _canaries["sync"]), (Json(sync.Result).GetProperty("card").GetString(), Json(sync.Result).GetProperty("secret").GetString()));
        Assert.Equal([$"card {pan} secret {_canaries["sync"]}"], sync.Logs);

        var syncFailure = await Assert.ThrowsAsync<CloisterApiException>(() => client.InvokeFunctionAsync("echo", Args(panToken, "sync-failure", fail: true)));
        Assert.Equal("handler-error", syncFailure.Problem.Code);
        var guarded = await Assert.ThrowsAsync<CloisterApiException>(() => client.InvokeFunctionAsync("guarded", Args(panToken, "guarded")));
        Assert.Equal("plaintext-in-output", guarded.Problem.Code);
        var async = (await client.StartInvocationAsync("echo", Args(panToken, "async"))).InvocationId;
        var asyncFailure = (await client.StartInvocationAsync("echo", Args(panToken, "async-failure", fail: true))).InvocationId;

        var sealedSync = await client.InvokeSealedAsync("echo", Args(panToken, "sealed-sync"), policy, echo.Measurement);
        Assert.Equal(_canaries["sealed-sync"], sealedSync.Result.GetProperty("secret").GetString());
        using var sealedAsync = await client.StartSealedInvocationAsync("echo", Args(panToken, "sealed-async"), policy, echo.Measurement);

        // Everything reads back: the results and error details are kept (encrypted), not dropped.
        Assert.Equal(_canaries["sync"], Json((await client.GetInvocationAsync(sync.InvocationId)).Result).GetProperty("secret").GetString());
        Assert.Contains(_canaries["sync-failure"], (await client.GetInvocationAsync(syncFailure.Problem.InvocationId!)).Error!.Detail, StringComparison.Ordinal);
        Assert.Equal("plaintext-in-output", (await client.GetInvocationAsync(guarded.Problem.InvocationId!)).Error!.Code);
        Assert.Equal(_canaries["async"], Json((await FinishedAsync(client, async)).Result).GetProperty("secret").GetString());
        Assert.Contains(_canaries["async-failure"], (await FinishedAsync(client, asyncFailure)).Error!.Detail, StringComparison.Ordinal);
        Assert.Equal(_canaries["sealed-async"], sealedAsync.Open(await FinishedAsync(client, sealedAsync.InvocationId)).Result.GetProperty("secret").GetString());

        // After a rotation, what was kept under the old data-key version still reads back, and new invocations too.
        await admin.RotateDataKeyAsync(ServeChildren.TenantId(data.Path));
        Assert.Equal(_canaries["sync"], Json((await client.GetInvocationAsync(sync.InvocationId)).Result).GetProperty("secret").GetString());
        var rotated = await client.InvokeFunctionAsync("echo", Args(panToken, "after-rotation"));
        Assert.Equal(_canaries["after-rotation"], Json((await client.GetInvocationAsync(rotated.InvocationId)).Result).GetProperty("secret").GetString());

        var files = await DataAtRest.ReadFilesAsync(data.Path);
        Assert.Contains(files.Keys, name => name.EndsWith("vault.db-wal", StringComparison.Ordinal));
        Assert.True(files.Values.Any(content => DataAtRest.FormsIn(content, control).Any()), "the scan does not find the metadata control: it would miss a canary too.");
        var found = files.SelectMany(file => _canaries.SelectMany(canary => DataAtRest.FormsIn(file.Value, canary.Value).Select(form => $"{file.Key}: the '{canary.Key}' canary ({form})"))).ToList();
        Assert.True(found.Count == 0, "values at rest:\n" + string.Join('\n', found));
    }

    /// <summary>An invocation's result (its JSON text) as an element.</summary>
    private static JsonElement Json(string? resultJson) => JsonDocument.Parse(resultJson!).RootElement;

    private string Canary(string name) => _canaries[name] = $"CANARY-{name}-{Guid.NewGuid():N}";

    private JsonElement Args(string panToken, string name, bool fail = false)
        => JsonDocument.Parse(JsonSerializer.Serialize(new { card = new Dictionary<string, string> { ["$token"] = panToken }, secret = Canary(name), fail })).RootElement;

    private static JsonElement Manifest(bool returnPlaintext)
        => JsonDocument.Parse(JsonSerializer.Serialize(FunctionBundles.Manifest("python3", "main.py", new { reveal = new[] { "pan" }, returnPlaintext }))).RootElement;

    private static async Task<InvocationInfo> FinishedAsync(CloisterClient client, string invocationId)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var info = await client.GetInvocationAsync(invocationId);
            if (info.Status != "running")
            {
                return info;
            }

            Assert.True(DateTime.UtcNow < deadline, $"invocation {invocationId} is still running after {Patience}.");
            await Task.Delay(100);
        }
    }
}
