using System.Text;
using static Cloister.Enclave.Tests.Functions.TestFunctions;

namespace Cloister.Enclave.Tests.Functions;

/// <summary>
/// A warm sandbox keeps what its handler keeps (module-level state), so the output check, the redaction of logs and error
/// details, and the audit's token list cover every value revealed into the sandbox since it started, not only the current
/// invocation's: a later invocation that passed no token cannot hand back a value an earlier one was given.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class WarmSandboxSecretsTests(FunctionRouters routers) : IClassFixture<FunctionRouters>
{
    /// <summary>Keeps every card it is given or reveals, and later returns, logs or raises with them.</summary>
    private const string Keeper = """
        kept = []
        def handle(event, ctx):
            if "card" in event:
                kept.append(event["card"])
            mode = event.get("mode", "keep")
            if mode == "reveal":
                kept.append(ctx.reveal(event["token"]))
            if mode == "return":
                return {"kept": kept}
            if mode == "log":
                ctx.log("kept " + ",".join(kept))
            if mode == "raise":
                raise ValueError("kept " + ",".join(kept))
            if mode == "raise-long":
                raise ValueError("x" * 2030 + ",".join(kept))
            return {"count": len(kept)}
        """;

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task AValueKeptFromAnEarlierInvocation_IsRefusedInALaterResult_RedactedInItsLogsAndErrors_AndAudited(string backend)
    {
        var router = routers.For(backend);
        var tenant = await router.CreateTenantAsync();
        var card = await router.TokenizeAsync(tenant, Card, "card");
        var function = Keep();

        var given = await router.InvokeAsync(tenant, function, $$$"""{"card":{"$token":"{{{card}}}"}}""");
        var returned = await router.InvokeAsync(tenant, function, """{"mode":"return"}""");
        var logged = await router.InvokeAsync(tenant, function, """{"mode":"log"}""");
        var raised = await router.InvokeAsync(tenant, function, """{"mode":"raise"}""");
        var cut = await router.InvokeAsync(tenant, function, """{"mode":"raise-long"}""");

        Assert.Equal("""{"count":1}""", given.Result);
        Assert.True(returned.Completion.Warm);
        Assert.Equal("plaintext-in-output", returned.Error.Code);
        Assert.Equal(["kept [redacted]"], logged.Completion.Logs);
        Assert.Equal("handler-error", raised.Error.Code);
        Assert.Contains("kept [redacted]", raised.Error.Detail, StringComparison.Ordinal);

        // The detail is cut at 2,048 characters, in the middle of the card: redacted before the cut, no digit of it is left.
        Assert.Contains("x[redac", cut.Error.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("4111", cut.Error.Detail, StringComparison.Ordinal);
        foreach (var run in new[] { given, returned, logged, raised, cut })
        {
            // The audit entry names every token whose value the sandbox held while the invocation ran.
            Assert.Equal([card], run.Completion.RevealedTokens);
            Assert.DoesNotContain(Card, string.Concat(run.Frames.Select(Encoding.UTF8.GetString)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AValueRevealedThroughCtx_IsCoveredInLaterInvocationsToo()
    {
        var router = routers.For(FunctionRouters.DefaultBackend);
        var tenant = await router.CreateTenantAsync();
        var card = await router.TokenizeAsync(tenant, Card, "card");
        var function = Keep();

        var revealed = await router.InvokeAsync(tenant, function, $$"""{"mode":"reveal","token":"{{card}}"}""");
        var returned = await router.InvokeAsync(tenant, function, """{"mode":"return"}""");

        Assert.Equal("""{"count":1}""", revealed.Result);
        Assert.Equal("plaintext-in-output", returned.Error.Code);
        Assert.Equal([card], returned.Completion.RevealedTokens);
    }

    [Fact]
    public async Task AnotherTenantsSandbox_HoldsNoneOfTheValues()
    {
        var router = routers.For(FunctionRouters.DefaultBackend);
        var tenant = await router.CreateTenantAsync();
        var other = await router.CreateTenantAsync();
        var card = await router.TokenizeAsync(tenant, Card, "card");
        var function = Keep();

        await router.InvokeAsync(tenant, function, $$$"""{"card":{"$token":"{{{card}}}"}}""");
        var elsewhere = await router.InvokeAsync(other, function, """{"mode":"return"}""");

        Assert.Equal("""{"kept":[]}""", elsewhere.Result);
        Assert.Empty(elsewhere.Completion.RevealedTokens);
    }

    [Fact]
    public async Task ASandboxThatHasReceivedItsMaximumOfValues_IsRefusedFurtherReveals_WithinOneInvocation()
    {
        var router = routers.For(FunctionRouters.DefaultBackend);
        var tenant = await router.CreateTenantAsync();

        // 20 values of 60,000 characters: the sandbox's record holds at most 1 Mi characters, so the 18th goes over and
        // every reveal after it is refused, also before the invocation ends (the worker's memory and the completion's
        // token list stay bounded whatever one invocation asks).
        var tokens = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            tokens.Add(await router.TokenizeAsync(tenant, new string((char)('a' + i), 60_000), "card"));
        }

        var function = TestFunction.Create(
            """{"runtime":"python3","entrypoint":"handler.py","limits":{"wallTimeoutSeconds":30},"permissions":{"reveal":["card"]}}""",
            "handler.py",
            """
            def handle(event, ctx):
                outcomes = []
                for token in event["tokens"]:
                    try:
                        ctx.reveal(token)
                        outcomes.append("ok")
                    except Exception as e:
                        outcomes.append(getattr(e, "code", "error"))
                return {"outcomes": outcomes}
            """,
            nonce: Guid.NewGuid().ToString("N"));

        var run = await router.InvokeAsync(tenant, function, System.Text.Json.JsonSerializer.Serialize(new { tokens }));

        using var result = System.Text.Json.JsonDocument.Parse(run.Result);
        var outcomes = result.RootElement.GetProperty("outcomes").EnumerateArray().Select(o => o.GetString()).ToList();
        Assert.Equal(Enumerable.Repeat("ok", 18), outcomes.Take(18));
        Assert.Equal(Enumerable.Repeat("limit-exceeded", 2), outcomes.Skip(18));
        Assert.Equal(tokens.Take(18), run.Completion.RevealedTokens);
    }

    /// <summary>A fresh version of <see cref="Keeper"/>: its own sandboxes, so no other test's values are in them.</summary>
    private static TestFunction Keep() => TestFunction.Create(
        """{"runtime":"python3","entrypoint":"handler.py","limits":{"wallTimeoutSeconds":10},"permissions":{"reveal":["card"]}}""",
        "handler.py",
        Keeper,
        nonce: Guid.NewGuid().ToString("N"));
}
