using System.Net.Http.Headers;
using System.Text;

namespace Cloister.Cli.Bench;

/// <summary>What every load run does over HTTP: clients, posts, bodies and seed tokens, and cleaning up its data directory.</summary>
internal static class BenchHttp
{
    public static HttpClient CreateHttp(string url, int concurrency, string? key)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        var http = new HttpClient(handler) { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    public static async Task<bool> PostAsync(HttpClient http, string path, string body, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(path, content, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        return response.IsSuccessStatusCode;
    }

    // Distinct 16-digit values so that nothing is deduplicated.
    public static string CreateBody(int i) => $"{{\"value\":\"4{i:D15}\"}}";

    public static string BatchBody(int size)
        => "{\"items\":[" + string.Join(',', Enumerable.Range(0, size).Select(i => $"{{\"value\":\"5{Random.Shared.NextInt64(100_000_000_000_000):D15}\",\"format\":\"random\"}}")) + "]}";

    public static async Task<List<string>> SeedTokensAsync(HttpClient http, int count, CancellationToken cancellationToken)
    {
        using var content = new StringContent(BatchBody(Math.Min(count, 1000)), Encoding.UTF8, "application/json");
        var tokens = new List<string>();
        while (tokens.Count < count)
        {
            using var response = await http.PostAsync("v1/tokens/batch", content, cancellationToken);
            response.EnsureSuccessStatusCode();
            using var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            tokens.AddRange(document.RootElement.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("token").GetString()!));
        }

        return tokens;
    }

    /// <summary>Deletes a bench run's data directory; a leftover is not worth failing the run for.</summary>
    public static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the next run's sweep.
        }
    }
}
