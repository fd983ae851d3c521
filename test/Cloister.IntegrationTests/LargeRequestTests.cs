using System.Net;
using System.Text;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// Large request bodies take a slot of their own before a byte is read (docs/api.md, "Limits and fairness"): one tenant
/// cannot make the router hold many maximal bodies at once, and another tenant's large request still gets through.
/// </summary>
public sealed class LargeRequestTests
{
    [Fact]
    public async Task ATenantsSecondLargeBody_Is429BeforeItIsRead_WhileAnotherTenantsIsServed()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with
        {
            LargeRequestBytes = 64 * 1024,
            MaxLargeRequests = 2,
            MaxLargeRequestsPerTenant = 1,
            MaxQueuedLargeRequestsPerTenant = 0,
        });
        var a = await server.CreateTenantAsync();
        var b = await server.CreateTenantAsync();
        var batch = Encoding.UTF8.GetBytes(TestServer.Json(new { items = Enumerable.Range(0, 20).Select(i => new { value = new string((char)('a' + i), 8_000) }) }));
        using var http = server.CreateHttpClient();

        // A's first large body arrives slowly: half of it, then nothing until the test lets it finish. It holds A's slot.
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var slow = new HttpRequestMessage(HttpMethod.Post, "/v1/tokens/batch") { Content = new SlowContent(batch, sent, rest.Task) };
        slow.Headers.Authorization = new("Bearer", a.Key);
        var first = http.SendAsync(slow);
        await sent.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(200); // the server reads the first half: A's slot is taken

        var second = await server.SendAsync(HttpMethod.Post, "/v1/tokens/batch", a.Key, Encoding.UTF8.GetString(batch));
        var problem = ProblemAssert.Is(second, 429, "tenant-busy");
        Assert.Contains("large requests", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        (await server.SendAsync(HttpMethod.Post, "/v1/tokens/batch", b.Key, Encoding.UTF8.GetString(batch))).Expect(200);

        rest.SetResult();
        using var done = await first.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);

        // With its slot back, A's next large body is served; small requests never needed one.
        (await server.SendAsync(HttpMethod.Post, "/v1/tokens/batch", a.Key, Encoding.UTF8.GetString(batch))).Expect(200);
        (await server.SendAsync(HttpMethod.Post, "/v1/tokens", a.Key, TestServer.Json(new { value = "small" }))).Expect(201);
    }

    /// <summary>Sends the first half of a body, signals, and the rest once released.</summary>
    private sealed class SlowContent(byte[] body, TaskCompletionSource sent, Task release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var half = body.Length / 2;
            await stream.WriteAsync(body.AsMemory(0, half));
            await stream.FlushAsync();
            sent.TrySetResult();
            await release;
            await stream.WriteAsync(body.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            Headers.ContentType = new("application/json");
            return true;
        }
    }
}
