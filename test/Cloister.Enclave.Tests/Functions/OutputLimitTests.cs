namespace Cloister.Enclave.Tests.Functions;

/// <summary>
/// A result of exactly the manifest's <c>limits.outputBytes</c> (its compact JSON, as the runner sends it) comes back whole, in
/// both runtimes and on both backends; one byte more is <c>output-limit</c>, and a result past the frame <c>frame-too-large</c>,
/// never a <c>timeout</c>; either way the warm sandbox serves the next invocation (Python's runner once dropped the rest of a partial write on its unbuffered output above 64 KiB).
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class OutputLimitTests(FunctionRouters routers) : IClassFixture<FunctionRouters>
{
    /// <summary>Four times a pipe's buffer, so that a frame is written in several parts.</summary>
    private const int OutputBytes = 256 * 1024;

    /// <summary>The JSON around the padding: <c>{"pad":""}</c>.</summary>
    private const int Envelope = 10;

    private static readonly TestFunction Python = TestFunction.Create(
        $$$"""{"runtime":"python3","entrypoint":"handler.py","limits":{"outputBytes":{{{OutputBytes}}},"wallTimeoutSeconds":20}}""",
        "handler.py",
        """
        def handle(event, ctx):
            return {"pad": "x" * event["n"]}
        """);

    private static readonly TestFunction Node = TestFunction.Create(
        $$$"""{"runtime":"node","entrypoint":"handler.js","limits":{"outputBytes":{{{OutputBytes}}},"wallTimeoutSeconds":20}}""",
        "handler.js",
        """
        module.exports = async (event) => ({ pad: "x".repeat(event.n) });
        """);

    [Theory]
    [InlineData("runsc", "python3")]
    [InlineData("bwrap", "python3")]
    [InlineData("runsc", "node")]
    [InlineData("bwrap", "node")]
    public async Task ResultOfExactlyOutputBytes_ComesBackWhole_AndTheSandboxStaysWarm(string backend, string runtime)
    {
        var router = routers.For(backend);
        var tenant = await router.CreateTenantAsync();
        var function = runtime == "node" ? Node : Python;

        var first = await router.InvokeAsync(tenant, function, $$"""{"n":{{OutputBytes - Envelope}}}""");
        var second = await router.InvokeAsync(tenant, function, """{"n":3}""");

        Assert.True(first.Completion.Error is null, $"{first.Completion.Error}");
        Assert.Equal(OutputBytes, first.Result.Length);
        Assert.Equal("""{"pad":"xxx"}""", second.Result);
        Assert.True(second.Completion.Warm);
    }

    [Theory]
    [InlineData("runsc", "python3", 1, "output-limit", "limits.outputBytes")]
    [InlineData("bwrap", "python3", 1, "output-limit", "limits.outputBytes")]
    [InlineData("runsc", "node", 1, "output-limit", "limits.outputBytes")]
    [InlineData("bwrap", "node", 1, "output-limit", "limits.outputBytes")]
    [InlineData("runsc", "python3", 64 * 1024, "frame-too-large", "maximum frame size")]
    [InlineData("bwrap", "python3", 64 * 1024, "frame-too-large", "maximum frame size")]
    [InlineData("runsc", "node", 64 * 1024, "frame-too-large", "maximum frame size")]
    [InlineData("bwrap", "node", 64 * 1024, "frame-too-large", "maximum frame size")]
    public async Task ResultOverOutputBytes_FailsWithTheLimitItHit_NotATimeout(string backend, string runtime, int over, string code, string detail)
    {
        var router = routers.For(backend);
        var tenant = await router.CreateTenantAsync();
        var function = runtime == "node" ? Node : Python;

        var run = await router.InvokeAsync(tenant, function, $$"""{"n":{{OutputBytes - Envelope + over}}}""");
        var next = await router.InvokeAsync(tenant, function, """{"n":3}""");

        Assert.Equal(code, run.Error.Code);
        Assert.Contains(detail, run.Error.Detail, StringComparison.Ordinal);
        Assert.Equal("""{"pad":"xxx"}""", next.Result);
    }
}
