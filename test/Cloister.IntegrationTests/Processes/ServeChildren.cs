using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Processes;

/// <summary>The children a real <c>cloister serve</c> started, as its output names them.</summary>
public static partial class ServeChildren
{
    /// <summary>The current enclave worker's pid (the last one serve started).</summary>
    public static int WorkerPid(ServerProcess server) => LastPid(WorkerLine(), server.Output);

    /// <summary>The current key broker's pid.</summary>
    public static int BrokerPid(ServerProcess server) => LastPid(BrokerLine(), server.Output);

    /// <summary>Waits until serve reports a worker (or broker) other than <paramref name="old"/>; returns its pid.</summary>
    public static async Task<int> WaitForNewPidAsync(ServerProcess server, Func<ServerProcess, int> current, int old, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var pid = current(server);
            if (pid != old)
            {
                return pid;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"serve did not report a restarted process within {timeout}. Output:\n{server.Output}");
        return 0;
    }

    /// <summary>Whether a process with this pid exists.</summary>
    public static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>Waits for a process to be gone.</summary>
    public static async Task WaitForExitAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsAlive(pid) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.False(IsAlive(pid), $"process {pid} is still running after {timeout}.");
    }

    /// <summary>Sends <c>kill -SIGNAL pid</c> (TERM, KILL, STOP…).</summary>
    public static async Task SignalAsync(int pid, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.True(kill.ExitCode == 0, $"kill -{signal} {pid} failed ({kill.ExitCode}).");
    }

    /// <summary>The shared-memory ring serve talks to its first worker over.</summary>
    public static string RingPath(ServerProcess server) => RingLine().Matches(server.Output)[^1].Groups[1].Value;

    /// <summary>The tenant key serve's first start wrote.</summary>
    public static string TenantKey(string dataDirectory) => Credential(dataDirectory, "tenantKey");

    /// <summary>The default tenant's id.</summary>
    public static string TenantId(string dataDirectory) => Credential(dataDirectory, "tenantId");

    /// <summary>The admin key serve's first start wrote.</summary>
    public static string AdminKey(string dataDirectory) => Credential(dataDirectory, "adminKey");

    /// <summary>Sends a JSON request with the given API key.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string key, string json)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", key);
        return await http.SendAsync(request);
    }

    /// <summary>POST /v1/tokens; the status and the body.</summary>
    public static async Task<(int Status, JsonElement Body, string? RetryAfter)> TokenizeAsync(HttpClient http, string key, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/tokens") { Content = JsonContent.Create(new { value }) };
        request.Headers.Authorization = new("Bearer", key);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return ((int)response.StatusCode, body, response.Headers.RetryAfter?.ToString());
    }

    /// <summary>POST /v1/tokens/{token}/reveal; the status and the value (null unless 200).</summary>
    public static async Task<(int Status, string? Value, string Body)> RevealAsync(HttpClient http, string key, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/tokens/" + Uri.EscapeDataString(token) + "/reveal");
        request.Headers.Authorization = new("Bearer", key);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var value = response.IsSuccessStatusCode ? JsonDocument.Parse(text).RootElement.GetProperty("value").GetString() : null;
        return ((int)response.StatusCode, value, text);
    }

    /// <summary>Reveals a token, retrying while the answer is a retryable 503 (a worker or broker coming back).</summary>
    public static async Task<string> RevealEventuallyAsync(HttpClient http, string key, string token, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var (status, value, body) = await RevealAsync(http, key, token);
            if (status == 200)
            {
                return value!;
            }

            Assert.True(status == 503 && DateTime.UtcNow < deadline, $"reveal of {token}: {status} {body}");
            await Task.Delay(200);
        }
    }

    private static string Credential(string dataDirectory, string name)
    {
        using var credentials = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dataDirectory, "credentials.json")));
        return credentials.RootElement.GetProperty(name).GetString()!;
    }

    private static int LastPid(Regex regex, string output)
    {
        var matches = regex.Matches(output);
        Assert.True(matches.Count > 0, $"serve named no such process. Output:\n{output}");
        var last = matches[^1];
        return int.Parse(last.Groups[1].Success ? last.Groups[1].Value : last.Groups[2].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"cloister: enclave worker (?:pid (\d+)|restarted \(pid (\d+)\))")]
    private static partial Regex WorkerLine();

    [GeneratedRegex(@"cloister: key broker (?:pid (\d+)|restarted \(pid (\d+)\))")]
    private static partial Regex BrokerLine();

    [GeneratedRegex(@"over shared-memory ring (\S+\.ring)")]
    private static partial Regex RingLine();
}
