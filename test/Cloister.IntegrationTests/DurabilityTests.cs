using System.Net.Http.Json;
using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>Acknowledged writes survive SIGKILL of the real server process.</summary>
public sealed class DurabilityTests
{
    private const int TokenCount = 200;

    [Fact]
    public async Task ServerProcess_KilledWithSigkill_AfterCreates_RevealsEveryAcknowledgedTokenOnRestart()
    {
        using var data = TempDirectory.Create("durability");
        var created = new List<(string Token, string Value)>();

        await using (var first = await ServerProcess.StartAsync(data.Path))
        {
            var tenantKey = ReadCredential(data, "tenantKey");
            using var http = new HttpClient { BaseAddress = new Uri(first.Url) };
            var formats = new[] { "random", "numeric", "pan", "ssn-last4", "fpe" };
            for (var i = 0; i < TokenCount; i++)
            {
                var format = formats[i % formats.Length];
                var value = format switch
                {
                    "pan" => Values.Card(),
                    "ssn-last4" => Values.Ssn(),
                    "numeric" or "fpe" => Values.Digits(16),
                    _ => Values.Unique("durable"),
                };
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/tokens")
                {
                    Content = JsonContent.Create(new { value, format }),
                };
                request.Headers.Authorization = new("Bearer", tenantKey);
                using var response = await http.SendAsync(request);
                Assert.Equal(201, (int)response.StatusCode);
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                created.Add((body.GetProperty("token").GetString()!, value));
            }

            await first.KillAsync();
        }

        await using var second = await ServerProcess.StartAsync(data.Path);
        Assert.DoesNotContain("first start", second.Output, StringComparison.Ordinal);
        var key = ReadCredential(data, "tenantKey");
        using var client = new HttpClient { BaseAddress = new Uri(second.Url) };
        foreach (var (token, value) in created)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/tokens/" + Uri.EscapeDataString(token) + "/reveal");
            request.Headers.Authorization = new("Bearer", key);
            using var response = await client.SendAsync(request);
            Assert.True(200 == (int)response.StatusCode, $"{token}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal(value, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("value").GetString());
        }

        // The audit chain is intact after the crash (checked against the live store).
        var verify = await CloisterProcess.RunAsync("audit", "verify", "--data-dir", data.Path);
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    private static string ReadCredential(TempDirectory data, string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(data.File("credentials.json")));
        return document.RootElement.GetProperty(name).GetString()!;
    }
}
