using System.Text.Json;
using Cloister.Attestation.Policy;
using Cloister.Client;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// No request the API accepts can make the router ↔ worker ring unusable (docs/design/partition.md, "Message sizes"):
/// every route works at its documented maximum over a real ring, and a message over the frame limit fails its own
/// request while everybody else is served at once by the same worker.
/// </summary>
public sealed class TransportLimitTests
{
    private const int MiB = 1024 * 1024;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task MessagesOverTheFrameLimit_FailOnlyTheirOwnRequest_AndEveryoneElseIsServedAtOnce()
    {
        using var data = TempDirectory.Create("frame-limit");
        await using var server = await ServerProcess.StartAsync(data.Path, "--max-frame-bytes", (1 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = Patience };
        var tenant = ServeTenant.Default(http, data.Path);
        var bystander = await ServeTenant.CreateAsync(http, data.Path, "bystander");
        var worker = ServeChildren.WorkerPid(server);

        // A batch many frames large travels in parts (each 64 KiB value with its answer fits 1/32 of the limit alone).
        var values = Enumerable.Range(0, 40).Select(i => Printable(64 * 1024, i)).ToList();
        using (var batch = await tenant.SendAsync(HttpMethod.Post, "/v1/tokens/batch", JsonSerializer.Serialize(new { items = values.Select(value => new { value }) })))
        {
            var tokens = (await ServeTenant.Expect(batch, 200)).GetProperty("items").EnumerateArray().Select(t => t.GetProperty("token").GetString()!).ToList();
            Assert.Equal(values[39], (await ServeChildren.RevealAsync(http, tenant.Key, tokens[39])).Value);
        }

        // An answer over the limit (a 2 MiB result), then a request over it (a package of 1.5 MiB that does not compress).
        await tenant.DeployAsync("big-answer", FunctionBundles.DeployBody(
            FunctionBundles.Manifest("node", "index.js", limits: new { outputBytes = 4 * MiB, memoryMiB = 256 }),
            Archives.TarGz(("index.js", "module.exports = async () => ({ text: 'x'.repeat(2 * 1024 * 1024) });\n"))));
        await tenant.DeployAsync("big-package", FunctionBundles.DeployBody(
            FunctionBundles.Manifest("python3", "main.py"),
            Archives.TarGz(("main.py", FunctionBundles.TrivialPython), ("noise.txt", Convert.ToBase64String(Payload(MiB + (MiB / 2)))))));
        foreach (var function in new[] { "big-answer", "big-package" })
        {
            using var invoked = await tenant.SendAsync(HttpMethod.Post, $"/v1/functions/{function}/invoke", "{\"args\":{}}");
            var problem = await ServeTenant.Expect(invoked, 422);
            Assert.Equal("message-too-large", problem.GetProperty("code").GetString());

            // Nobody else noticed: served at once, by the same worker, which was neither restarted nor taken for broken.
            Assert.Equal(201, (await ServeChildren.TokenizeAsync(http, bystander.Key, "bystander-" + function)).Status);
            using var ready = await http.GetAsync("/readyz");
            Assert.True(ready.IsSuccessStatusCode, await ready.Content.ReadAsStringAsync());
        }

        Assert.Equal(worker, ServeChildren.WorkerPid(server));
        Assert.DoesNotContain("WARNING: the ring", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("is hung", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryRoute_WorksAtItsDocumentedMaximum_OverTheRing()
    {
        using var data = TempDirectory.Create("frame-maxima");
        await using var server = await ServerProcess.StartAsync(data.Path);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = Patience };
        var tenant = ServeTenant.Default(http, data.Path);
        Assert.True(AttestationPolicyFile.TryLoad(Path.Combine(data.Path, "attestation-policy.json"), out var policy, out var error), error);
        var client = new CloisterClient(http, tenant.Key);

        // Batch create: 1,000 values of 64 KiB (the 1,000 × 52 KiB broke the ring: 69 MiB of base64 ciphertexts).
        var values = Enumerable.Range(0, 1000).Select(i => Printable(64 * 1024, i)).ToList();
        var created = await client.CreateTokensAsync(values.Select(v => (v, (TokenizeOptions?)null)));
        Assert.Equal(1000, created.Items.Count);

        // Sealed reveal of all 1,000 (one sealed box each way: about 86 MiB).
        var revealed = await client.RevealSealedAsync([.. created.Items.Select(t => t.Token)], policy!);
        Assert.Equal(values, revealed.Select(r => r.Value));

        // Sealed batch create: 1,000 sealed values of 64 KiB.
        var sealedValues = Enumerable.Range(1000, 1000).Select(i => Printable(64 * 1024, i)).ToList();
        var sealedCreated = await client.CreateSealedTokensAsync(sealedValues.Select(v => (v, (TokenizeOptions?)null)), policy!);
        Assert.Equal(1000, sealedCreated.Items.Count);
        Assert.Equal(sealedValues[999], await client.RevealAsync(sealedCreated.Items[999].Token));

        // A function's result right at 64 MiB (less the runner's frame), with its 100 log lines of 4,096 characters, in
        // both runtimes (the issue: a Node result and logs near 64 MiB broke the ring; Python ones over 64 KiB timed out).
        const int resultChars = (64 * MiB) - (64 * 1024);
        var limits = new { outputBytes = 64 * MiB, memoryMiB = 1024, wallTimeoutSeconds = 120 };
        await tenant.DeployAsync("max-output-node", FunctionBundles.DeployBody(
            FunctionBundles.Manifest("node", "index.js", limits: limits),
            Archives.TarGz(("index.js", $$"""
                module.exports = async (event, ctx) => {
                  for (let i = 0; i < 100; i++) await ctx.log(String(i % 10).repeat(4096));
                  return { text: 'y'.repeat({{resultChars}}) };
                };
                """))));
        await tenant.DeployAsync("max-output-python", FunctionBundles.Python(
            $$"""
            def handle(event, ctx):
                for i in range(100):
                    ctx.log(str(i % 10) * 4096)
                return {"text": "y" * {{resultChars}}}
            """,
            limits: limits));
        foreach (var function in new[] { "max-output-node", "max-output-python" })
        {
            using var invoked = await tenant.SendAsync(HttpMethod.Post, $"/v1/functions/{function}/invoke", "{\"args\":{}}");
            var result = await ServeTenant.Expect(invoked, 200);
            Assert.Equal(resultChars, result.GetProperty("result").GetProperty("text").GetString()!.Length);
            Assert.Equal(100, result.GetProperty("logs").GetArrayLength());
        }
    }

    /// <summary>Random letters and digits (printable, no JSON escapes), different for every seed.</summary>
    private static string Printable(int length, int seed)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        var random = new Random(seed);
        return string.Create(length, random, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[r.Next(alphabet.Length)];
            }
        });
    }

    private static byte[] Payload(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }
}
