using Cloister.Protocol;
using Cloister.Server.Functions;

namespace Cloister.Server.Tests.Functions;

/// <summary>
/// Protocol conformance of the router's side of function invocation (src/Cloister.Protocol/FunctionMessages.cs): what the
/// <see cref="InvocationDriver"/> sends for each enclave answer, checked frame by frame against a scripted enclave and a
/// real SQLite store. The enclave's own behaviour is tested beside it; end to end runs are in FunctionInvokeTests.
/// </summary>
public sealed class InvocationDriverTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Invoke_FirstRequest_CarriesTheFunctionRefArgsAndKeyVersion_WithoutPackage()
    {
        await using var h = await DriverHarness.StartAsync((_, _) => DriverHarness.Completed());

        var done = await h.Driver.RunAsync(h.Context("""{"card":{"$token":"tok_1"}}"""), None);

        Assert.Equal("""{"ok":true}""", done.ResultJson);
        Assert.True(done.Warm);
        Assert.Equal(["done"], done.Logs);
        var invoke = Assert.IsType<InvokeFunctionRequest>(Assert.Single(h.Enclave.Received));
        Assert.Equal(("inv_test", DriverHarness.TenantA, new FunctionRef("score", 1, DriverHarness.Measurement), """{"card":{"$token":"tok_1"}}""", 1),
            (invoke.InvocationId, invoke.TenantId, invoke.Function, invoke.ArgsJson, invoke.CurrentKeyVersion));
        Assert.Null(invoke.Package);
    }

    [Fact]
    public async Task FunctionRequired_ResendsOnce_WithTheStoredManifestAndBundle()
    {
        await using var h = await DriverHarness.StartAsync((request, _) => request is InvokeFunctionRequest { Package: null }
            ? new FunctionRequiredResponse("inv_test", DriverHarness.Measurement)
            : DriverHarness.Completed());

        var done = await h.Driver.RunAsync(h.Context(), None);

        Assert.Null(done.Error);
        Assert.Equal(2, h.Enclave.Received.Count);
        var resent = Assert.IsType<InvokeFunctionRequest>(h.Enclave.Received[1]);
        Assert.Equal(DriverHarness.ManifestJson, resent.Package!.ManifestJson);
        Assert.Equal(DriverHarness.BundleBytes, resent.Package.BundleTarGz);
        Assert.Equal(new FunctionRef("score", 1, DriverHarness.Measurement), resent.Function);
    }

    [Fact]
    public async Task FunctionRequired_AfterThePackageWasSent_FailsInsteadOfLooping()
    {
        await using var h = await DriverHarness.StartAsync((_, _) => new FunctionRequiredResponse("inv_test", DriverHarness.Measurement));

        var done = await h.Driver.RunAsync(h.Context(), None);

        Assert.Equal(EnclaveErrorCodes.Internal, done.Error!.Code);
        Assert.Equal(2, h.Enclave.Received.Count);
    }

    [Fact]
    public async Task Lookup_AnswersOnlyLiveTokensOfTheCallersTenant_InOrder_AndNullForTheRest()
    {
        await using var h = await DriverHarness.StartAsync((request, _) => request switch
        {
            InvokeFunctionRequest => new InvocationPendingResponse("inv_test", 1, ["tok_live", "tok_expired", "tok_other_tenant", "tok_unknown"], null),
            ContinueInvocationRequest => DriverHarness.Completed(revealed: ["tok_live"]),
            _ => throw new InvalidOperationException(),
        });
        await h.InsertAsync(
            DriverHarness.Token(DriverHarness.TenantA, "tok_live", classifier: "card"),
            DriverHarness.Token(DriverHarness.TenantA, "tok_expired", expiresAt: DateTimeOffset.UtcNow.AddMinutes(-1)),
            DriverHarness.Token(DriverHarness.TenantB, "tok_other_tenant"));

        var done = await h.Driver.RunAsync(h.Context(), None);

        Assert.Equal(["tok_live"], done.RevealedTokens);
        var answer = Assert.IsType<ContinueInvocationRequest>(h.Enclave.Received[1]);
        Assert.Equal(("inv_test", 1, DriverHarness.TenantA), (answer.InvocationId, answer.Step, answer.TenantId));
        Assert.Null(answer.Stored);
        Assert.Equal(4, answer.Found!.Count);
        var live = answer.Found[0]!;
        Assert.Equal(("tok_live", "random", (string?)null, "card", 1), (live.Token, live.Format, live.Alphabet, live.Classifier, live.KeyVersion));
        Assert.Equal("ct-tok_live"u8.ToArray(), live.Ciphertext);
        Assert.Equal([null, null, null], answer.Found.Skip(1));
    }

    [Fact]
    public async Task Store_InsertsNewTokens_ReportsTakenOnesFalse_AndAuditsTheCreate()
    {
        var fresh = new NewTokenRecord("tok_new", "pan", null, "card", 1, [1, 2, 3], [4, 5, 6], "411111******1111");
        var taken = new NewTokenRecord("tok_taken", "random", null, "generic", 1, [7], [8], "****");
        await using var h = await DriverHarness.StartAsync((request, _) => request switch
        {
            InvokeFunctionRequest => new InvocationPendingResponse("inv_test", 1, null, [fresh, taken]),
            ContinueInvocationRequest => DriverHarness.Completed(),
            _ => throw new InvalidOperationException(),
        });
        await h.InsertAsync(DriverHarness.Token(DriverHarness.TenantA, "tok_taken"));

        await h.Driver.RunAsync(h.Context(), None);

        var answer = Assert.IsType<ContinueInvocationRequest>(h.Enclave.Received[1]);
        Assert.Equal([true, false], answer.Stored);
        Assert.Null(answer.Found);
        var stored = await h.Store.GetTokenAsync(DriverHarness.TenantA, "tok_new", None);
        Assert.Equal(("pan", "card", "411111******1111", (DateTimeOffset?)null), (stored!.Format, stored.Classifier, stored.Mask, stored.ExpiresAt));
        Assert.Equal([1, 2, 3], stored.Ciphertext);
        Assert.Null(stored.DeterministicKey);
        Assert.Null(await h.Store.GetTokenAsync(DriverHarness.TenantB, "tok_new", None));
    }

    [Fact]
    public async Task Steps_AreAnsweredInOrder_UntilCompletion()
    {
        await using var h = await DriverHarness.StartAsync((request, index) => request switch
        {
            InvokeFunctionRequest => new InvocationPendingResponse("inv_test", 1, ["tok_a"], null),
            ContinueInvocationRequest { Step: 1 } => new InvocationPendingResponse("inv_test", 2, null, [new NewTokenRecord("tok_out", "random", null, "generic", 1, [1], [2], "****")]),
            ContinueInvocationRequest { Step: 2 } => new InvocationPendingResponse("inv_test", 3, ["tok_out"], null),
            ContinueInvocationRequest { Step: 3, Found: [{ Token: "tok_out" }] } => DriverHarness.Completed(),
            _ => new EnclaveErrorResponse(new EnclaveError("unexpected", $"request {index}")),
        });

        var done = await h.Driver.RunAsync(h.Context(), None);

        Assert.Null(done.Error);
        Assert.Equal(4, h.Enclave.Received.Count);
    }

    [Fact]
    public async Task KeysRequired_OnAContinuation_IsAnsweredWithTheTenantsWrappedKeys()
    {
        await using var h = await DriverHarness.StartAsync((request, _) => request switch
        {
            InvokeFunctionRequest => new InvocationPendingResponse("inv_test", 1, null, [new NewTokenRecord("tok_out", "random", null, "generic", 1, [1], [2], "****")]),
            ContinueInvocationRequest { Keys: null } => new KeysRequiredResponse(DriverHarness.TenantA),
            ContinueInvocationRequest => DriverHarness.Completed(),
            _ => throw new InvalidOperationException(),
        });

        var done = await h.Driver.RunAsync(h.Context(), None);

        Assert.Null(done.Error);
        var resent = Assert.IsType<ContinueInvocationRequest>(h.Enclave.Received[2]);
        Assert.Equal("wrapped-ten_a"u8.ToArray(), Assert.Single(resent.Keys!).Blob);
        Assert.Equal([true], resent.Stored);
    }

    [Theory]
    [InlineData("sandbox-unavailable")]
    [InlineData("handler-error")]
    [InlineData("unknown-invocation")]
    public async Task EnclaveErrors_EndTheInvocation_WithTheirCode(string code)
    {
        await using var h = await DriverHarness.StartAsync((_, _) => new EnclaveErrorResponse(new EnclaveError(code, "detail")));
        var done = await h.Driver.RunAsync(h.Context(), None);
        Assert.Equal(new EnclaveError(code, "detail"), done.Error);
        Assert.Null(done.ResultJson);
    }

    [Fact]
    public async Task CompletionWithAnError_PassesThroughWithItsLogs()
    {
        await using var h = await DriverHarness.StartAsync((_, _) =>
            new InvocationCompletedResponse("inv_test", null, new EnclaveError("timeout", "wall timeout of 10 s"), false, ["started"], [], Stored: DriverHarness.Kept));
        var done = await h.Driver.RunAsync(h.Context(), None);
        Assert.Equal("timeout", done.Error!.Code);
        Assert.Equal(["started"], done.Logs);
    }

    public static TheoryData<string, EnclaveResponse> MalformedAnswers => new()
    {
        { "wrong step number", new InvocationPendingResponse("inv_test", 2, ["tok"], null) },
        { "both lookup and store", new InvocationPendingResponse("inv_test", 1, ["tok"], []) },
        { "neither lookup nor store", new InvocationPendingResponse("inv_test", 1, null, null) },
        { "another invocation's step", new InvocationPendingResponse("inv_other", 1, ["tok"], null) },
        { "another invocation's completion", new InvocationCompletedResponse("inv_other", "{}", null, false, [], []) },
        { "result and error", new InvocationCompletedResponse("inv_test", "{}", new EnclaveError("timeout", "x"), false, [], []) },
        { "neither result nor error", new InvocationCompletedResponse("inv_test", null, null, false, [], [], Stored: DriverHarness.Kept) },
        { "no kept outcome", new InvocationCompletedResponse("inv_test", "{}", null, false, [], []) },
        { "a kept outcome without a key version", new InvocationCompletedResponse("inv_test", "{}", null, false, [], [], Stored: DriverHarness.Kept with { KeyVersion = 0 }) },
        { "a sealed result to an unsealed invocation", new InvocationCompletedResponse("inv_test", null, null, false, [], [], SealedResult: [1, 2, 3]) },
        { "an unrelated response", new RevealResponse([]) },
        { "another measurement's package", new FunctionRequiredResponse("inv_test", new string('b', 96)) },
    };

    [Theory]
    [MemberData(nameof(MalformedAnswers))]
    public async Task MalformedEnclaveAnswers_FailTheInvocation_AsInternal(string why, EnclaveResponse answer)
    {
        await using var h = await DriverHarness.StartAsync((_, _) => answer);
        var done = await h.Driver.RunAsync(h.Context(), None);
        Assert.True(done.Error?.Code == EnclaveErrorCodes.Internal, why);
        Assert.Single(h.Enclave.Received);
    }

    [Fact]
    public async Task SealedInvocation_CompletionInClear_FailsAsInternal()
    {
        await using var h = await DriverHarness.StartAsync((_, _) => DriverHarness.Completed());
        var done = await h.Driver.RunAsync(h.Context() with { SealedInput = [1, 2, 3] }, None);
        Assert.Equal((EnclaveErrorCodes.Internal, (string?)null, (StoredOutcome?)null), (done.Error?.Code, done.ResultJson, done.Stored));
    }

    [Fact]
    public async Task AnEnclaveThatNeverCompletes_IsStoppedAfterMaxSteps()
    {
        await using var h = await DriverHarness.StartAsync((request, _) => new InvocationPendingResponse(
            "inv_test", request is ContinueInvocationRequest c ? c.Step + 1 : 1, [], null));

        var done = await h.Driver.RunAsync(h.Context(), None);

        Assert.Equal(EnclaveErrorCodes.Internal, done.Error!.Code);
        // The invoke plus one continuation per answered step; the step after the last allowed one is not answered.
        Assert.Equal(InvocationDriver.MaxSteps + 1, h.Enclave.Received.Count);
    }
}
