using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// End-to-end invocation through the real router, enclave, sandbox and runners.
/// </summary>
/// <remarks>
/// These need a sandbox backend and Debian's python3/node; test.sh installs them, and a machine without them fails
/// these tests (sandbox-unavailable) rather than skipping them.
/// </remarks>
public sealed class FunctionInvokeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    private static string Name() => "inv-" + Guid.NewGuid().ToString("N")[..10];

    private async Task<string> DeployAsync(TenantHandle tenant, string name, string body)
        => (await _server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, tenant.Key, body)).Expect(201).Text("measurement");

    private Task<ApiResponse> InvokeAsync(TenantHandle tenant, string name, object body, string query = "")
        => _server.SendAsync(HttpMethod.Post, $"/v1/functions/{name}/invoke{query}", tenant.Key, TestServer.Json(body));

    [Fact]
    public async Task Invoke_ReturnsTheResult_WithIdVersionMeasurementDurationWarmAndLogs_AndGetShowsTheSame()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = Name();
        var measurement = await DeployAsync(tenant, name, FunctionBundles.Python("def handle(event, ctx):\n    ctx.log('adding')\n    return {'sum': event['a'] + event['b']}\n"));

        var ok = (await InvokeAsync(tenant, name, new { args = new { a = 2, b = 3 } })).Expect(200).Json;

        Assert.Equal(5, ok.GetProperty("result").GetProperty("sum").GetInt32());
        Assert.Equal(("succeeded", name, 1, measurement), (ok.GetProperty("status").GetString(), ok.GetProperty("function").GetString(), ok.GetProperty("version").GetInt32(), ok.GetProperty("measurement").GetString()));
        Assert.Equal(["adding"], ok.GetProperty("logs").EnumerateArray().Select(l => l.GetString()));
        Assert.True(ok.GetProperty("durationMs").GetInt64() >= 0);
        Assert.True(ok.GetProperty("warm").ValueKind is JsonValueKind.True or JsonValueKind.False);
        var id = ok.GetProperty("invocationId").GetString()!;
        Assert.StartsWith("inv_", id, StringComparison.Ordinal);

        var info = (await _server.SendAsync(HttpMethod.Get, "/v1/invocations/" + id, tenant.Key)).Expect(200).Json;
        Assert.Equal(("succeeded", 5, measurement), (info.GetProperty("status").GetString(), info.GetProperty("result").GetProperty("sum").GetInt32(), info.GetProperty("measurement").GetString()));
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/invocations/" + id, (await _server.CreateTenantAsync()).Key), 404, "invocation-not-found");
    }

    [Fact]
    public async Task Invoke_RevealsAPermittedToken_InsideTheSandboxOnly_AndAuditsItsId()
    {
        var tenant = await _server.CreateTenantAsync();
        var card = Values.Card();
        var token = await _server.CreateTokenAsync(tenant.Key, new { value = card, format = "pan", classifier = "card" });
        var name = Name();
        await DeployAsync(tenant, name, FunctionBundles.Python(
            "def handle(event, ctx):\n    pan = event['card']\n    return {'length': len(pan), 'digits': pan.isdigit()}\n",
            permissions: new { reveal = new[] { "card" } }));

        var response = (await InvokeAsync(tenant, name, new { args = new { card = new Dictionary<string, string> { ["$token"] = token } } })).Expect(200);

        Assert.Equal(card.Length, response.Json.GetProperty("result").GetProperty("length").GetInt32());
        Assert.True(response.Json.GetProperty("result").GetProperty("digits").GetBoolean());
        ProblemAssert.DoesNotContain(response, card);
        var audit = VaultDatabase.Query(_server.DataDirectory, "SELECT targets FROM audit WHERE tenant_id = $t AND action = 'function.invoke.completed'", ("$t", tenant.Id));
        Assert.Contains(token, (string)Assert.Single(audit)[0]!, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.LogEntries, e => e.Text.Contains(card, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Invoke_AValueAWarmSandboxKeptFromAnEarlierInvocation_Is422PlaintextInOutput_AndTheLaterAuditNamesItsToken()
    {
        var tenant = await _server.CreateTenantAsync();
        var card = Values.Card();
        var token = await _server.CreateTokenAsync(tenant.Key, new { value = card, format = "pan", classifier = "card" });
        var name = Name();
        await DeployAsync(tenant, name, FunctionBundles.Python(
            "kept = []\ndef handle(event, ctx):\n    if 'card' in event:\n        kept.append(event['card'])\n    return {'kept': kept}\n",
            permissions: new { reveal = new[] { "card" } }));
        ProblemAssert.Is(await InvokeAsync(tenant, name, new { args = new { card = new Dictionary<string, string> { ["$token"] = token } } }), 422, "plaintext-in-output");

        var later = await InvokeAsync(tenant, name, new { args = new { } });

        ProblemAssert.Is(later, 422, "plaintext-in-output");
        ProblemAssert.DoesNotContain(later, card);
        var audit = VaultDatabase.Query(_server.DataDirectory, "SELECT targets FROM audit WHERE tenant_id = $t AND action = 'function.invoke.completed' ORDER BY seq", ("$t", tenant.Id));
        Assert.Equal(2, audit.Count);
        Assert.Contains(token, (string)audit[1][0]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invoke_TokenOfAClassifierTheManifestDoesNotAllow_Is422NamingTheClassifier()
    {
        var tenant = await _server.CreateTenantAsync();
        var ssn = Values.Ssn();
        var token = await _server.CreateTokenAsync(tenant.Key, new { value = ssn, classifier = "ssn" });
        var name = Name();
        var measurement = await DeployAsync(tenant, name, FunctionBundles.Python(FunctionBundles.TrivialPython, permissions: new { reveal = new[] { "card" } }));

        var response = await InvokeAsync(tenant, name, new { args = new { x = new Dictionary<string, string> { ["$token"] = token } } });

        var problem = ProblemAssert.Is(response, 422, "classifier-not-permitted");
        Assert.Contains("ssn", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal((1, measurement), (problem.GetProperty("version").GetInt32(), problem.GetProperty("measurement").GetString()));
        Assert.StartsWith("inv_", problem.GetProperty("invocationId").GetString(), StringComparison.Ordinal);
        ProblemAssert.DoesNotContain(response, ssn);
    }

    [Fact]
    public async Task Invoke_AnotherTenantsToken_AnswersExactlyLikeAnUnknownToken()
    {
        var tenant = await _server.CreateTenantAsync();
        var other = await _server.CreateTenantAsync();
        var foreign = await _server.CreateTokenAsync(other.Key, new { value = Values.Card(), format = "pan", classifier = "card" });
        var name = Name();
        await DeployAsync(tenant, name, FunctionBundles.Python(FunctionBundles.TrivialPython, permissions: new { reveal = new[] { "*" } }));

        var theirs = ProblemAssert.Is(await InvokeAsync(tenant, name, new { args = new { c = new Dictionary<string, string> { ["$token"] = foreign } } }), 422, "unknown-token");
        var missing = ProblemAssert.Is(await InvokeAsync(tenant, name, new { args = new { c = new Dictionary<string, string> { ["$token"] = "tok_" + new string('x', 22) } } }), 422, "unknown-token");
        Assert.Equal(missing.GetProperty("title").GetString(), theirs.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Invoke_HandlerError_Is422_AndTheInvocationIsRecordedFailed()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = Name();
        await DeployAsync(tenant, name, FunctionBundles.Python("def handle(event, ctx):\n    raise ValueError('amount must be positive')\n"));

        var problem = ProblemAssert.Is(await InvokeAsync(tenant, name, new { args = new { } }), 422, "handler-error");

        var info = (await _server.SendAsync(HttpMethod.Get, "/v1/invocations/" + problem.GetProperty("invocationId").GetString(), tenant.Key)).Expect(200).Json;
        Assert.Equal(("failed", "handler-error"), (info.GetProperty("status").GetString(), info.GetProperty("error").GetProperty("code").GetString()));
        Assert.False(info.TryGetProperty("result", out _));
    }

    [Fact]
    public async Task AsyncInvoke_Answers202WithLocation_AndGetReportsTheResult()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = Name();
        await DeployAsync(tenant, name, FunctionBundles.Python("def handle(event, ctx):\n    return {'echo': event['v']}\n"));

        var accepted = (await InvokeAsync(tenant, name, new { args = new { v = "hello" } }, "?mode=async")).Expect(202);
        var id = accepted.Text("invocationId");
        Assert.Equal("running", accepted.Text("status"));
        Assert.Contains($"Location: /v1/invocations/{id}", accepted.Headers, StringComparison.Ordinal);

        JsonElement info;
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        do
        {
            await Task.Delay(50);
            info = (await _server.SendAsync(HttpMethod.Get, "/v1/invocations/" + id, tenant.Key)).Expect(200).Json;
        }
        while (info.GetProperty("status").GetString() == "running" && DateTimeOffset.UtcNow < deadline);

        Assert.Equal("succeeded", info.GetProperty("status").GetString());
        Assert.Equal("hello", info.GetProperty("result").GetProperty("echo").GetString());
    }

    [Fact]
    public async Task Pins_RunTheVersionAsked()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = Name();
        await DeployAsync(tenant, name, FunctionBundles.Python("def handle(event, ctx):\n    return 1\n"));
        var latest = await DeployAsync(tenant, name, FunctionBundles.Python("def handle(event, ctx):\n    return 2\n"));

        Assert.Equal(1, (await InvokeAsync(tenant, name, new { args = new { }, version = 1 })).Expect(200).Json.GetProperty("result").GetInt32());
        Assert.Equal(2, (await InvokeAsync(tenant, name, new { args = new { }, measurement = latest })).Expect(200).Json.GetProperty("result").GetInt32());
        Assert.Equal(2, (await InvokeAsync(tenant, name, new { args = new { } })).Expect(200).Json.GetProperty("result").GetInt32());
    }

    [Fact]
    public async Task TokenizeOutput_ReturnsATokenOfTheCallersTenant_InsteadOfTheValue()
    {
        var tenant = await _server.CreateTenantAsync();
        var card = Values.Card();
        var name = Name();
        await DeployAsync(tenant, name, FunctionBundles.Python(
            "def handle(event, ctx):\n    return {'card': event['pan'], 'note': 'ok'}\n",
            permissions: new { tokenizeOutput = new[] { new { field = "card", format = "pan", classifier = "card" } } }));

        var response = (await InvokeAsync(tenant, name, new { args = new { pan = card } })).Expect(200);

        var token = response.Json.GetProperty("result").GetProperty("card").GetString()!;
        Assert.NotEqual(card, token);
        ProblemAssert.DoesNotContain(response, card);
        Assert.Equal(card, await _server.RevealValueAsync(tenant.Key, token));
    }
}
