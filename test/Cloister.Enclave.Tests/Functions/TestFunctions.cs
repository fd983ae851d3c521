namespace Cloister.Enclave.Tests.Functions;

/// <summary>The handlers and manifests the invocation tests deploy.</summary>
internal static class TestFunctions
{
    public const string Card = "4111111111111111";
    public const string Ssn = "123-45-6789";

    /// <summary>Does what the event's "mode" asks, so one warm sandbox serves many tests.</summary>
    public const string PythonModes = """
        import os
        def handle(event, ctx):
            mode = event.get("mode", "echo")
            if mode == "echo":
                return event
            if mode == "reveal":
                try:
                    value = ctx.reveal(event["token"])
                    return {"last4": value[-4:]}
                except Exception as e:
                    return {"error": getattr(e, "code", "none")}
            if mode == "tokenize":
                return {"token": ctx.tokenize(event["value"], event.get("format", "random"))}
            if mode == "log":
                value = ctx.reveal(event["token"])
                ctx.log("value is " + value)
                ctx.log("plain line")
                return {"ok": True}
            if mode == "leak":
                return {"copy": {"deep": ["x", event["value"]]}}
            if mode == "raise":
                raise ValueError("bad input " + event["value"])
            if mode == "exit":
                os._exit(3)
            if mode == "sleep":
                import time
                time.sleep(60)
            return {"unknown": mode}
        """;

    /// <summary>Builds a payment request; the manifest tokenizes its card field on the way out.</summary>
    public const string NodeRequest = """
        module.exports = async (event, ctx) => {
          await ctx.log("building request for " + event.card);
          return { body: { card: event.card, amount: event.amount }, runtime: typeof process.version };
        };
        """;

    /// <summary>Reveals "card" tokens only; no plaintext out; 5 s wall timeout.</summary>
    public static readonly TestFunction Python = TestFunction.Create(
        """{"runtime":"python3","entrypoint":"handler.py","limits":{"wallTimeoutSeconds":5},"permissions":{"reveal":["card"]}}""",
        "handler.py",
        PythonModes);

    /// <summary>The same code, allowed to reveal anything and return plaintext.</summary>
    public static readonly TestFunction PythonPlaintext = TestFunction.Create(
        """{"runtime":"python3","entrypoint":"handler.py","limits":{"wallTimeoutSeconds":5},"permissions":{"reveal":["*"],"returnPlaintext":true}}""",
        "handler.py",
        PythonModes);

    public static readonly TestFunction Node = TestFunction.Create(
        """{"runtime":"node","entrypoint":"handler.js","limits":{"wallTimeoutSeconds":5},"permissions":{"reveal":["card"],"tokenizeOutput":[{"field":"body.card","format":"pan","classifier":"card"}]}}""",
        "handler.js",
        NodeRequest);

    /// <summary>A version of <see cref="PythonModes"/> no other test uses (its own sandboxes and package).</summary>
    public static TestFunction FreshPython(string manifestExtra = "")
        => TestFunction.Create(
            $$"""{"runtime":"python3","entrypoint":"handler.py","permissions":{"reveal":["card"]}{{manifestExtra}}}""",
            "handler.py",
            PythonModes,
            nonce: Guid.NewGuid().ToString("N"));
}
