using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Cloister.Client;
using Cloister.IntegrationTests.Support;
using Microsoft.Extensions.Logging;

namespace Cloister.IntegrationTests.Sealed;

/// <summary>
/// Records everything the router handles during sealed tokenize, reveal and invoke of a canary plaintext — every frame
/// it exchanges with the enclave, every HTTP request and response body, every log line at Trace, and its data files —
/// and finds the canary nowhere, while the client does get it back.
/// </summary>
public sealed class SealedCanaryTests
{
    [Fact]
    public async Task SealedOperations_NeverShowTheRouterTheCanary()
    {
        var canary = "CANARY-sealed-" + Guid.NewGuid().ToString("N");
        await using var sealedServer = await SealedServer.StartAsync(LogLevel.Trace);
        var server = sealedServer.Server;
        var tenant = await server.CreateTenantAsync();
        var http = new RecordingHandler();
        var client = sealedServer.Client(tenant, http);

        var token = (await client.CreateSealedTokenAsync(canary, sealedServer.Policy)).Token;
        var deterministic = (await client.CreateSealedTokenAsync(canary, sealedServer.Policy, new TokenizeOptions(Format: "fpe", Alphabet: "alnum"))).Token;
        Assert.Equal([canary, canary], (await client.RevealSealedAsync([token, deterministic], sealedServer.Policy)).Select(r => r.Value));

        var name = "canary-" + Guid.NewGuid().ToString("N")[..8];
        var measurement = (await server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, tenant.Key,
            FunctionBundles.Python("def handle(event, ctx):\n    ctx.log('secret ' + event['secret'])\n    return {'echo': event['secret']}\n"))).Expect(201).Text("measurement");
        var args = JsonDocument.Parse(JsonSerializer.Serialize(new { secret = canary })).RootElement;
        var result = await client.InvokeSealedAsync(name, args, sealedServer.Policy, measurement);
        Assert.Equal(canary, result.Result.GetProperty("echo").GetString());
        Assert.Equal(["secret " + canary], result.Logs);

        // The canary as text, and as the bytes a frame could carry it in (UTF-8 inside JSON, base64 of it).
        string[] forms = [canary, Convert.ToBase64String(Encoding.UTF8.GetBytes(canary)), Convert.ToHexStringLower(Encoding.UTF8.GetBytes(canary))];
        Assert.NotEmpty(sealedServer.Recorder.Frames);
        foreach (var frame in sealedServer.Recorder.Frames)
        {
            AssertNoCanary(forms, Encoding.UTF8.GetString(frame), "an enclave frame");
        }

        Assert.NotEmpty(http.Bodies);
        foreach (var body in http.Bodies)
        {
            AssertNoCanary(forms, body, "an HTTP body");
        }

        foreach (var entry in server.Logs.Entries)
        {
            AssertNoCanary(forms, entry.Text, "a log line");
        }

        // The store (SQLite file and WAL) and everything else in the data directory, read while the router runs.
        foreach (var (file, content) in await DataAtRest.ReadFilesAsync(server.DataDirectory))
        {
            Assert.True(!DataAtRest.FormsIn(content, canary).Any(), $"the canary appears in the data file {file}");
        }
    }

    private static void AssertNoCanary(string[] forms, string text, string where)
    {
        foreach (var form in forms)
        {
            Assert.False(text.Contains(form, StringComparison.Ordinal), $"the canary appears in {where}");
        }
    }

    /// <summary>Records every request and response body the client exchanges with the router.</summary>
    private sealed class RecordingHandler : DelegatingHandler
    {
        private readonly ConcurrentQueue<string> _bodies = new();

        public IReadOnlyList<string> Bodies => [.. _bodies];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _bodies.Enqueue(request.RequestUri!.PathAndQuery);
            if (request.Content is not null)
            {
                _bodies.Enqueue(await request.Content.ReadAsStringAsync(cancellationToken));
            }

            var response = await base.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            _bodies.Enqueue(Encoding.UTF8.GetString(body));
            var copy = new ByteArrayContent(body);
            foreach (var header in response.Content.Headers)
            {
                copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            response.Content = copy;
            return response;
        }
    }
}
