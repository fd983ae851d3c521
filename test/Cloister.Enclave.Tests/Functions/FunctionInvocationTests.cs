using System.Text;
using System.Text.Json;
using Cloister.Protocol;
using static Cloister.Enclave.Tests.Functions.TestFunctions;

namespace Cloister.Enclave.Tests.Functions;

/// <summary>Sandbox-backed tests share one collection: they run one at a time (2-core CI, real sandboxes).</summary>
[CollectionDefinition(Name)]
public sealed class SandboxCollection
{
    public const string Name = "sandboxes";
}

/// <summary>Invocations through the enclave's frames, on real gVisor and bubblewrap sandboxes.</summary>
[Collection(SandboxCollection.Name)]
public sealed class FunctionInvocationTests(FunctionRouters routers) : IClassFixture<FunctionRouters>
{
    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task Python_TokenReferences_AreResolvedAnywhereInTheArgs(string backend)
    {
        var router = routers.For(backend);
        var tenant = await router.CreateTenantAsync();
        var card = await router.TokenizeAsync(tenant, Card, "card");
        var ssn = await router.TokenizeAsync(tenant, Ssn, "ssn");

        var run = await router.InvokeAsync(tenant, PythonPlaintext, $$"""{"mode":"echo","a":{"b":[{"$token":"{{card}}"},5,{"$token":"{{card}}"}]},"ssn":{"$token":"{{ssn}}"},"n":null}""");

        using var result = JsonDocument.Parse(run.Result);
        var b = result.RootElement.GetProperty("a").GetProperty("b");
        Assert.Equal(Card, b[0].GetString());
        Assert.Equal(5, b[1].GetInt32());
        Assert.Equal(Card, b[2].GetString());
        Assert.Equal(Ssn, result.RootElement.GetProperty("ssn").GetString());
        Assert.Equal([card, ssn], run.Completion.RevealedTokens);
        var lookups = run.Events.OfType<InvocationPendingResponse>().ToList();
        Assert.Equal([card, ssn], Assert.Single(lookups).LookupTokens);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task Python_HostCalls_AreCheckedAgainstTheManifest(string backend)
    {
        var router = routers.For(backend);
        var tenant = await router.CreateTenantAsync();
        var other = await router.CreateTenantAsync();
        var card = await router.TokenizeAsync(tenant, Card, "card");
        var ssn = await router.TokenizeAsync(tenant, Ssn, "ssn");
        var othersCard = await router.TokenizeAsync(other, "5500000000000004", "card");

        var allowed = await router.InvokeAsync(tenant, Python, $$"""{"mode":"reveal","token":"{{card}}"}""");
        var denied = await router.InvokeAsync(tenant, Python, $$"""{"mode":"reveal","token":"{{ssn}}"}""");
        var unknown = await router.InvokeAsync(tenant, Python, """{"mode":"reveal","token":"tok_doesnotexist"}""");
        var foreign = await router.InvokeAsync(tenant, Python, $$"""{"mode":"reveal","token":"{{othersCard}}"}""");

        Assert.Equal("""{"last4":"1111"}""", allowed.Result);
        Assert.Equal([card], allowed.Completion.RevealedTokens);
        Assert.Equal("""{"error":"permission-denied"}""", denied.Result);

        // A refused reveal adds nothing; the warm sandbox still holds the card the invocation before it revealed.
        Assert.Equal([card], denied.Completion.RevealedTokens);
        Assert.Equal("""{"error":"not-found"}""", unknown.Result);
        Assert.Equal("""{"error":"not-found"}""", foreign.Result);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task Python_CtxTokenize_StoresATokenThatRevealsToTheValue(string backend)
    {
        var router = routers.For(backend);
        var tenant = await router.CreateTenantAsync();

        var run = await router.InvokeAsync(tenant, Python, """{"mode":"tokenize","value":"4242424242424242","format":"pan"}""");

        using var result = JsonDocument.Parse(run.Result);
        var token = result.RootElement.GetProperty("token").GetString()!;
        Assert.NotEqual("4242424242424242", token);
        var store = Assert.Single(run.Events.OfType<InvocationPendingResponse>());
        var record = Assert.Single(store.StoreTokens!);
        Assert.Equal(token, record.Token);
        Assert.Equal("generic", record.Classifier);
        Assert.Equal("pan", record.Format);
        Assert.Equal("4242424242424242", await router.RevealAsync(tenant, token));
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task Node_TokenizeOutput_ReplacesTheField_AndLogsAreRedacted(string backend)
    {
        var router = routers.For(backend);
        var tenant = await router.CreateTenantAsync();
        var card = await router.TokenizeAsync(tenant, Card, "card");

        var run = await router.InvokeAsync(tenant, Node, $$"""{"card":{"$token":"{{card}}"},"amount":1250}""");

        using var result = JsonDocument.Parse(run.Result);
        var body = result.RootElement.GetProperty("body");
        var outToken = body.GetProperty("card").GetString()!;
        Assert.NotEqual(Card, outToken);
        Assert.StartsWith("411111", outToken, StringComparison.Ordinal);
        Assert.Equal(1250, body.GetProperty("amount").GetInt32());
        Assert.Equal("string", result.RootElement.GetProperty("runtime").GetString());
        Assert.Equal(Card, await router.RevealAsync(tenant, outToken));
        Assert.Equal("card", router.Records[(tenant, outToken)].Classifier);
        Assert.Equal(["building request for [redacted]"], run.Completion.Logs);
        Assert.DoesNotContain(Card, string.Concat(run.Frames.Select(Encoding.UTF8.GetString)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenizeOutput_FieldMissingFromTheResult_IsTokenizeOutputFailed()
    {
        var router = routers.For(FunctionRouters.DefaultBackend);
        var tenant = await router.CreateTenantAsync();

        var run = await router.InvokeAsync(tenant, Node, """{"amount":5}""");

        Assert.Equal("tokenize-output-failed", run.Error.Code);
        Assert.Contains("body.card", run.Error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_RedactRevealedValues_UnlessPlaintextMayLeave()
    {
        var router = routers.For(FunctionRouters.DefaultBackend);
        var tenant = await router.CreateTenantAsync();
        var card = await router.TokenizeAsync(tenant, Card, "card");
        var args = $$"""{"mode":"log","token":"{{card}}"}""";

        var redacted = await router.InvokeAsync(tenant, Python, args);
        var plain = await router.InvokeAsync(tenant, PythonPlaintext, args);

        Assert.Equal(["value is [redacted]", "plain line"], redacted.Completion.Logs);
        Assert.Equal(["value is " + Card, "plain line"], plain.Completion.Logs);
    }

    [Fact]
    public async Task PlaintextInOutput_IsRefused_UnlessTheManifestAllowsIt()
    {
        var router = routers.For(FunctionRouters.DefaultBackend);
        var tenant = await router.CreateTenantAsync();
        var card = await router.TokenizeAsync(tenant, Card, "card");
        var args = $$$"""{"mode":"leak","value":{"$token":"{{{card}}}"}}""";

        var refused = await router.InvokeAsync(tenant, Python, args);
        var allowed = await router.InvokeAsync(tenant, PythonPlaintext, args);
        var last4 = await router.InvokeAsync(tenant, Python, $$"""{"mode":"reveal","token":"{{card}}"}""");

        Assert.Equal("plaintext-in-output", refused.Error.Code);
        Assert.Null(refused.Completion.ResultJson);
        Assert.Equal([card], refused.Completion.RevealedTokens);
        Assert.Contains(Card, allowed.Result, StringComparison.Ordinal);
        Assert.Equal("""{"last4":"1111"}""", last4.Result);
    }

    [Fact]
    public async Task ArgsTokens_OtherTenantsTokenAnswersLikeAnUnknownOne_AndADisallowedClassifierIsNamed()
    {
        var router = routers.For(FunctionRouters.DefaultBackend);
        var tenant = await router.CreateTenantAsync();
        var other = await router.CreateTenantAsync();
        var ssn = await router.TokenizeAsync(tenant, Ssn, "ssn");
        var card = await router.TokenizeAsync(tenant, Card, "card");
        var othersCard = await router.TokenizeAsync(other, Card, "card");

        var foreign = await router.InvokeAsync(tenant, Python, $$"""{"mode":"echo","x":[{"$token":"{{othersCard}}"}]}""");
        var unknown = await router.InvokeAsync(tenant, Python, """{"mode":"echo","x":[{"$token":"tok_nosuchtoken"}]}""");
        var disallowed = await router.InvokeAsync(tenant, Python, $$$"""{"mode":"echo","c":{"$token":"{{{card}}}"},"s":{"$token":"{{{ssn}}}"}}""");

        Assert.Equal("unknown-token", foreign.Error.Code);
        Assert.Equal(unknown.Error, foreign.Error);
        Assert.Contains("$.x[0]", unknown.Error.Detail, StringComparison.Ordinal);
        Assert.Equal("classifier-not-permitted", disallowed.Error.Code);
        Assert.Contains("'ssn'", disallowed.Error.Detail, StringComparison.Ordinal);
        Assert.Empty(disallowed.Completion.RevealedTokens);
        Assert.False(disallowed.Completion.Warm);
    }

    [Fact]
    public async Task FirstInvoke_AsksForThePackage_RunsCold_ThenTheCachedVersionRunsWarm()
    {
        var router = routers.For(FunctionRouters.DefaultBackend);
        var tenant = await router.CreateTenantAsync();
        var function = FreshPython();

        var first = await router.InvokeAsync(tenant, function, """{"mode":"tokenize","value":"abc"}""");
        var second = await router.InvokeAsync(tenant, function, """{"mode":"tokenize","value":"abc"}""");

        Assert.True(first.AskedForPackage);
        Assert.False(first.Completion.Warm);
        Assert.False(second.AskedForPackage);
        Assert.True(second.Completion.Warm);
        Assert.NotEqual(first.Result, second.Result);
    }

    [Fact]
    public async Task SandboxErrors_PassThroughWithTheirCodes_AndNoDetailCarriesAValue()
    {
        const string Canary = "CANARY-fn-zq7x-0001";
        var router = routers.For(FunctionRouters.DefaultBackend);
        var tenant = await router.CreateTenantAsync();
        var secret = await router.TokenizeAsync(tenant, Canary, "card");
        var hidden = await router.TokenizeAsync(tenant, Canary + "-ssn", "ssn");
        var function = FreshPython();
        var value = $$"""{"$token":"{{secret}}"}""";

        InvocationRun[] runs =
        [
            await router.InvokeAsync(tenant, function, $$"""{"mode":"raise","value":{{value}}}"""),
            await router.InvokeAsync(tenant, function, $$"""{"mode":"leak","value":{{value}}}"""),
            await router.InvokeAsync(tenant, function, $$"""{"mode":"log","token":"{{secret}}"}"""),
            await router.InvokeAsync(tenant, function, $$$"""{"mode":"echo","s":{"$token":"{{{hidden}}}"}}"""),
            await router.InvokeAsync(tenant, function, $$"""{"mode":"reveal","token":"{{hidden}}"}"""),
            await router.InvokeAsync(tenant, function, $$"""{"mode":"exit","value":{{value}}}"""),
        ];

        Assert.Equal("handler-error", runs[0].Error.Code);
        Assert.Contains("[redacted]", runs[0].Error.Detail, StringComparison.Ordinal);
        Assert.Equal("plaintext-in-output", runs[1].Error.Code);
        Assert.Equal("classifier-not-permitted", runs[3].Error.Code);
        Assert.Equal("runner-crashed", runs[5].Error.Code);
        foreach (var frame in runs.SelectMany(run => run.Frames))
        {
            Assert.DoesNotContain("CANARY", Encoding.UTF8.GetString(frame), StringComparison.Ordinal);
        }
    }
}
