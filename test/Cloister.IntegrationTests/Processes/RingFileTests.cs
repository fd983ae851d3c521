using System.Text.Json;
using System.Text.RegularExpressions;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// The shared memory file between the router and the worker holds only messages in flight: after many requests, and
/// after a <c>kill -9</c> of serve, no value that crossed it can be read from it (docs/security.md, "Shared memory and
/// pooled buffers are wiped").
/// </summary>
public sealed partial class RingFileTests
{
    [Fact]
    public async Task TheRingFile_KeepsNoValueThatCrossedIt_WhileServingAndAfterAKill9()
    {
        using var data = TempDirectory.Create("ring-file");
        var server = await ServerProcess.StartAsync(data.Path);
        var ring = RingPath().Match(server.Output).Groups[1].Value;
        Assert.True(File.Exists(ring), $"no ring file at '{ring}'. Output:\n{server.Output}");
        var canaries = Enumerable.Range(0, 40).Select(i => $"RING-CANARY-{i:D3}-{Guid.NewGuid():N}").ToList();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) };
            var tenant = ServeTenant.Default(http, data.Path);
            var tokens = new List<string>();
            foreach (var canary in canaries.Take(20))
            {
                var (status, body, _) = await ServeChildren.TokenizeAsync(http, tenant.Key, canary);
                Assert.Equal(201, status);
                tokens.Add(body.GetProperty("token").GetString()!);
            }

            using (var batch = await tenant.SendAsync(HttpMethod.Post, "/v1/tokens/batch", JsonSerializer.Serialize(new { items = canaries.Skip(20).Select(value => new { value }) })))
            {
                tokens.AddRange((await ServeTenant.Expect(batch, 200)).GetProperty("items").EnumerateArray().Select(t => t.GetProperty("token").GetString()!));
            }

            for (var i = 0; i < tokens.Count; i++)
            {
                Assert.Equal(canaries[i], (await ServeChildren.RevealAsync(http, tenant.Key, tokens[i])).Value);
            }

            AssertNoCanary(await ReadAsync(ring), canaries, "while serving");
        }
        finally
        {
            // kill -9: serve cannot clean up; its worker stops at EOF on its stdin.
            System.Diagnostics.Process.GetProcessById(server.Id).Kill();
            await server.DisposeAsync();
        }

        if (File.Exists(ring))
        {
            AssertNoCanary(await ReadAsync(ring), canaries, "after kill -9");
        }
    }

    private static void AssertNoCanary(byte[] file, List<string> canaries, string when)
    {
        foreach (var canary in canaries)
        {
            var forms = DataAtRest.FormsIn(file, canary).ToList();
            Assert.True(forms.Count == 0, $"the ring file holds {canary} ({string.Join(", ", forms)}) {when}");
        }
    }

    private static async Task<byte[]> ReadAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var bytes = new MemoryStream();
        await stream.CopyToAsync(bytes);
        return bytes.ToArray();
    }

    [GeneratedRegex(@"over shared-memory ring (\S+)")]
    private static partial Regex RingPath();
}
