using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// The asynchronous invocation plumbing (202, Location, the invocation record, its completion), which holds whatever the
/// enclave answers; what the function computes is asserted in <see cref="FunctionInvokeTests"/>.
/// </summary>
public sealed class FunctionAsyncTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    [Fact]
    public async Task AsyncInvoke_Answers202AndLocation_AndTheRecordCompletes_ForItsTenantOnly()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = "async-" + Guid.NewGuid().ToString("N")[..8];
        var measurement = (await _server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, tenant.Key, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201).Text("measurement");

        var accepted = (await _server.SendAsync(HttpMethod.Post, $"/v1/functions/{name}/invoke?mode=async", tenant.Key, TestServer.Json(new { args = new { a = 1 } }))).Expect(202);
        var id = accepted.Text("invocationId");
        Assert.Matches("^inv_[1-9A-HJ-NP-Za-km-z]{22}$", id);
        Assert.Equal("running", accepted.Text("status"));
        Assert.Contains($"Location: /v1/invocations/{id}", accepted.Headers, StringComparison.Ordinal);

        System.Text.Json.JsonElement info;
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        do
        {
            await Task.Delay(50);
            info = (await _server.SendAsync(HttpMethod.Get, "/v1/invocations/" + id, tenant.Key)).Expect(200).Json;
        }
        while (info.GetProperty("status").GetString() == "running" && DateTimeOffset.UtcNow < deadline);

        Assert.Equal((id, name, 1, measurement), (info.GetProperty("invocationId").GetString(), info.GetProperty("function").GetString(), info.GetProperty("version").GetInt32(), info.GetProperty("measurement").GetString()));
        Assert.Contains(info.GetProperty("status").GetString(), new[] { "succeeded", "failed" });
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, info.GetProperty("completedAt").ValueKind);
        Assert.True(info.TryGetProperty("result", out _) != info.TryGetProperty("error", out _), "exactly one of result and error");

        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/invocations/" + id, (await _server.CreateTenantAsync()).Key), 404, "invocation-not-found");
        var audit = VaultDatabase.Query(_server.DataDirectory, "SELECT action FROM audit WHERE tenant_id = $t AND targets LIKE $id ORDER BY seq", ("$t", tenant.Id), ("$id", $"%{id}%"));
        Assert.Equal(["function.invoke", "function.invoke.completed"], audit.Select(r => (string)r[0]!));
    }

    [Fact]
    public async Task CliInvokeAsync_PrintsTheId_AndInvocationsGetShowsIt()
    {
        using var dir = TempDirectory.Create("fn");
        File.WriteAllText(dir.File("main.py"), FunctionBundles.TrivialPython);
        var name = "cli-async-" + Guid.NewGuid().ToString("N")[..8];
        var args = new[] { "--data-dir", _server.DataDirectory };
        Assert.Equal(0, (await CloisterProcess.RunAsync(["functions", "deploy", dir.Path, "--name", name, "--runtime", "python3", .. args])).ExitCode);

        var started = await CloisterProcess.RunAsync(["functions", "invoke", name, "--args", "{\"a\":1}", "--async", .. args]);
        Assert.True(started.ExitCode == 0, started.ToString());
        var id = Assert.Single(started.StdoutLines);
        Assert.StartsWith("inv_", id, StringComparison.Ordinal);

        var shown = await CloisterProcess.RunAsync(["invocations", "get", id, .. args]);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains($"invocation   {id}", shown.Stdout, StringComparison.Ordinal);
        Assert.Contains($"function     {name}", shown.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_BadInvocationRetention_IsAOneLineUsageError()
    {
        using var dir = TempDirectory.Create("serve");
        var result = await CloisterProcess.RunAsync("serve", "--invocation-retention", "5x", "--data-dir", dir.Path);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal(["cloister: --invocation-retention must be a number followed by s, m, h or d (e.g. 24h)."], result.StderrLines);
    }
}
