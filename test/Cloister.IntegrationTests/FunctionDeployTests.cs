using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>Deploy, list, get and delete of functions against the real router and store; invocation pins refused before the enclave.</summary>
public sealed class FunctionDeployTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    private static string Name() => "fn-" + Guid.NewGuid().ToString("N")[..10];

    private Task<ApiResponse> DeployAsync(string key, string name, string body) => _server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, key, body);

    private Task<ApiResponse> InvokeAsync(string key, string name, object body) => _server.SendAsync(HttpMethod.Post, $"/v1/functions/{name}/invoke", key, TestServer.Json(body));

    [Fact]
    public async Task Deploy_NewVersion201_SameCodeAgain200WithThatVersion_ChangedCode201Next()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = Name();

        var first = (await DeployAsync(tenant.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201);
        Assert.Equal((name, 1, "python3"), (first.Text("name"), first.Json.GetProperty("version").GetInt32(), first.Text("runtime")));
        Assert.Matches("^[0-9a-f]{96}$", first.Text("measurement"));
        Assert.Contains($"Location: /v1/functions/{name}", first.Headers, StringComparison.Ordinal);

        // The same files in a different archive (another order, a ./ prefix) are the same bundle: idempotent.
        var same = FunctionBundles.DeployBody(FunctionBundles.Manifest("python3", "main.py"), Archives.TarGz(("./main.py", FunctionBundles.TrivialPython)));
        var again = (await DeployAsync(tenant.Key, name, same)).Expect(200);
        Assert.Equal((1, first.Text("measurement")), (again.Json.GetProperty("version").GetInt32(), again.Text("measurement")));

        var changed = (await DeployAsync(tenant.Key, name, FunctionBundles.Python("def handle(event, ctx):\n    return 2\n"))).Expect(201);
        Assert.Equal(2, changed.Json.GetProperty("version").GetInt32());
        Assert.NotEqual(first.Text("measurement"), changed.Text("measurement"));

        var limits = (await DeployAsync(tenant.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython, limits: new { memoryMiB = 256 }))).Expect(201);
        Assert.Equal(3, limits.Json.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task ListAndGet_ShowLatestVersions_AndEveryVersionWithItsCanonicalManifest()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = Name();
        var v1 = (await DeployAsync(tenant.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201);
        var v2 = (await DeployAsync(tenant.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython, permissions: new { reveal = new[] { "card" } }))).Expect(201);

        var list = (await _server.SendAsync(HttpMethod.Get, "/v1/functions", tenant.Key)).Expect(200).Json.GetProperty("functions");
        var item = Assert.Single(list.EnumerateArray());
        Assert.Equal((name, 2, v2.Text("measurement"), "python3"),
            (item.GetProperty("name").GetString(), item.GetProperty("latestVersion").GetInt32(), item.GetProperty("measurement").GetString(), item.GetProperty("runtime").GetString()));

        var detail = (await _server.SendAsync(HttpMethod.Get, "/v1/functions/" + name, tenant.Key)).Expect(200).Json;
        var versions = detail.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal([1, 2], versions.Select(v => v.GetProperty("version").GetInt32()));
        Assert.Equal([v1.Text("measurement"), v2.Text("measurement")], versions.Select(v => v.GetProperty("measurement").GetString()));
        var manifest = versions[1].GetProperty("manifest");
        Assert.Equal("card", manifest.GetProperty("permissions").GetProperty("reveal")[0].GetString());
        Assert.Equal(128, manifest.GetProperty("limits").GetProperty("memoryMiB").GetInt32());
        Assert.Equal("none", manifest.GetProperty("egress").GetString());
    }

    [Fact]
    public async Task Delete_Answers204_ThenTheFunctionIs404Everywhere_AndARedeployStartsAtVersion1()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = Name();
        (await DeployAsync(tenant.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201);
        (await DeployAsync(tenant.Key, name, FunctionBundles.Python("def handle(e, c):\n    return 2\n"))).Expect(201);

        (await _server.SendAsync(HttpMethod.Delete, "/v1/functions/" + name, tenant.Key)).Expect(204);

        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/functions/" + name, tenant.Key), 404, "function-not-found");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Delete, "/v1/functions/" + name, tenant.Key), 404, "function-not-found");
        ProblemAssert.Is(await InvokeAsync(tenant.Key, name, new { args = new { } }), 404, "function-not-found");
        Assert.Empty((await _server.SendAsync(HttpMethod.Get, "/v1/functions", tenant.Key)).Expect(200).Json.GetProperty("functions").EnumerateArray());
        Assert.Equal(1, (await DeployAsync(tenant.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201).Json.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task AnotherTenantsFunction_Is404_ForGetDeleteAndInvoke_AndAbsentFromItsList()
    {
        var owner = await _server.CreateTenantAsync();
        var other = await _server.CreateTenantAsync();
        var name = Name();
        (await DeployAsync(owner.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201);

        var get = await _server.SendAsync(HttpMethod.Get, "/v1/functions/" + name, other.Key);
        var unknown = await _server.SendAsync(HttpMethod.Get, "/v1/functions/" + Name(), other.Key);
        ProblemAssert.Is(get, 404, "function-not-found");
        Assert.Equal(unknown.BodyWithoutTraceId(), get.BodyWithoutTraceId());
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Delete, "/v1/functions/" + name, other.Key), 404, "function-not-found");
        ProblemAssert.Is(await InvokeAsync(other.Key, name, new { args = new { } }), 404, "function-not-found");
        Assert.Empty((await _server.SendAsync(HttpMethod.Get, "/v1/functions", other.Key)).Expect(200).Json.GetProperty("functions").EnumerateArray());

        // Still there for its owner.
        (await _server.SendAsync(HttpMethod.Get, "/v1/functions/" + name, owner.Key)).Expect(200);
    }

    [Fact]
    public async Task Scopes_DeployNeedsDeploy_ReadingNeedsEither_InvokeNeedsInvoke()
    {
        var owner = await _server.CreateTenantAsync();
        var name = Name();
        (await DeployAsync(owner.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201);
        var tokensOnly = await _server.CreateApiKeyAsync(owner.Id, "tokens:write");
        var invokeOnly = await _server.CreateApiKeyAsync(owner.Id, "functions:invoke");
        var deployOnly = await _server.CreateApiKeyAsync(owner.Id, "functions:deploy");

        var denied = ProblemAssert.Is(await DeployAsync(invokeOnly.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython)), 403, "missing-scope");
        Assert.Equal("functions:deploy", denied.GetProperty("scope").GetString());
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Delete, "/v1/functions/" + name, invokeOnly.Key), 403, "missing-scope");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/functions", tokensOnly.Key), 403, "missing-scope");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/functions/" + name, tokensOnly.Key), 403, "missing-scope");
        ProblemAssert.Is(await InvokeAsync(deployOnly.Key, name, new { args = new { } }), 403, "missing-scope");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/invocations/inv_x", deployOnly.Key), 403, "missing-scope");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/functions", _server.AdminKey), 403, "missing-scope");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/functions", null), 401, "unauthorized");

        (await _server.SendAsync(HttpMethod.Get, "/v1/functions", invokeOnly.Key)).Expect(200);
        (await _server.SendAsync(HttpMethod.Get, "/v1/functions/" + name, invokeOnly.Key)).Expect(200);
        (await _server.SendAsync(HttpMethod.Get, "/v1/functions/" + name, deployOnly.Key)).Expect(200);
    }

    [Fact]
    public async Task BadDeploys_AnswerProblemsNamingTheCause_AndStoreNothing()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = Name();
        var manifest = FunctionBundles.Manifest("python3", "main.py");
        var bundle = Archives.TarGz(("main.py", FunctionBundles.TrivialPython));

        var base64 = ProblemAssert.Is(await DeployAsync(tenant.Key, name, JsonSerializer.Serialize(new { manifest, bundle = "%%%not-base64%%%" })), 400, "invalid-bundle");
        Assert.Contains("base64", base64.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var traversal = ProblemAssert.Is(await DeployAsync(tenant.Key, name, FunctionBundles.DeployBody(manifest, Archives.TarGz(("main.py", "x"), ("../../etc/cron.d/x", "x")))), 400, "invalid-bundle");
        Assert.StartsWith("bundle:", traversal.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var missingRuntime = ProblemAssert.Is(await DeployAsync(tenant.Key, name, FunctionBundles.DeployBody(new { entrypoint = "main.py" }, bundle)), 400, "invalid-manifest");
        Assert.StartsWith("manifest.runtime:", missingRuntime.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var badLimit = ProblemAssert.Is(await DeployAsync(tenant.Key, name, FunctionBundles.DeployBody(FunctionBundles.Manifest("python3", "main.py", limits: new { memoryMiB = 999999 }), bundle)), 400, "invalid-manifest");
        Assert.StartsWith("manifest.limits.memoryMiB:", badLimit.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var noEntrypoint = ProblemAssert.Is(await DeployAsync(tenant.Key, name, FunctionBundles.DeployBody(FunctionBundles.Manifest("python3", "missing.py"), bundle)), 400, "invalid-manifest");
        Assert.StartsWith("manifest.entrypoint:", noEntrypoint.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var egress = ProblemAssert.Is(await DeployAsync(tenant.Key, name, FunctionBundles.DeployBody(new { runtime = "python3", entrypoint = "main.py", egress = "internet" }, bundle)), 400, "egress-not-supported");
        Assert.StartsWith("manifest.egress:", egress.GetProperty("detail").GetString(), StringComparison.Ordinal);

        ProblemAssert.Is(await DeployAsync(tenant.Key, name, JsonSerializer.Serialize(new { bundle = Convert.ToBase64String(bundle) })), 400, "invalid-manifest");
        ProblemAssert.Is(await DeployAsync(tenant.Key, name, JsonSerializer.Serialize(new { manifest })), 400, "invalid-bundle");
        ProblemAssert.Is(await DeployAsync(tenant.Key, name, "{not json"), 400, "malformed-json");
        ProblemAssert.Is(await DeployAsync(tenant.Key, "Bad.Name", FunctionBundles.DeployBody(manifest, bundle)), 400, "invalid-function-name");
        ProblemAssert.Is(await DeployAsync(tenant.Key, new string('a', 65), FunctionBundles.DeployBody(manifest, bundle)), 400, "invalid-function-name");

        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/functions/" + name, tenant.Key), 404, "function-not-found");
    }

    [Fact]
    public async Task Deploy_OverTheBodyLimit_Is413()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { MaxDeployBodyBytes = 64 * 1024 });
        var bundle = Archives.TarGz(("main.py", FunctionBundles.TrivialPython), ("data.bin", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(96 * 1024))));
        var response = await server.SendOversizedAsync(HttpMethod.Put, "/v1/functions/big", server.DefaultTenant.Key, FunctionBundles.DeployBody(FunctionBundles.Manifest("python3", "main.py"), bundle));
        ProblemAssert.Is(response, 413, "body-too-large");
    }

    [Fact]
    public async Task InvokePins_ThatDoNotMatch_AreRefusedBeforeAnythingRuns()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = Name();
        var v1 = (await DeployAsync(tenant.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201).Text("measurement");
        var v2 = (await DeployAsync(tenant.Key, name, FunctionBundles.Python("def handle(e, c):\n    return 2\n"))).Expect(201).Text("measurement");

        var noVersion = ProblemAssert.Is(await InvokeAsync(tenant.Key, name, new { args = new { }, version = 3 }), 409, "version-mismatch");
        Assert.Contains("no version 3", noVersion.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var stale = ProblemAssert.Is(await InvokeAsync(tenant.Key, name, new { args = new { }, measurement = v1 }), 409, "version-mismatch");
        Assert.Contains("latest version (2)", stale.GetProperty("detail").GetString(), StringComparison.Ordinal);
        ProblemAssert.Is(await InvokeAsync(tenant.Key, name, new { args = new { }, version = 1, measurement = v2 }), 400, "pin-conflict");
        ProblemAssert.Is(await InvokeAsync(tenant.Key, name, new { args = new { }, measurement = "abc" }), 400, "invalid-request");
        ProblemAssert.Is(await InvokeAsync(tenant.Key, name, new { args = new[] { 1 } }), 400, "invalid-request");
        ProblemAssert.Is(await InvokeAsync(tenant.Key, Name(), new { args = new { } }), 404, "function-not-found");
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Post, $"/v1/functions/{name}/invoke?mode=later", tenant.Key, "{}"), 400, "invalid-request");

        // Refused pins leave no invocation behind.
        Assert.Empty(VaultDatabase.Query(_server.DataDirectory, "SELECT id FROM invocations WHERE tenant_id = $t", ("$t", tenant.Id)));
    }

    [Fact]
    public async Task UnknownInvocation_Is404()
    {
        var tenant = await _server.CreateTenantAsync();
        ProblemAssert.Is(await _server.SendAsync(HttpMethod.Get, "/v1/invocations/inv_doesnotexist", tenant.Key), 404, "invocation-not-found");
    }

    [Fact]
    public async Task DeployAndDelete_AreAudited_WithNameVersionAndMeasurement()
    {
        var tenant = await _server.CreateTenantAsync();
        var name = Name();
        var measurement = (await DeployAsync(tenant.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(201).Text("measurement");
        (await DeployAsync(tenant.Key, name, FunctionBundles.Python(FunctionBundles.TrivialPython))).Expect(200);
        (await _server.SendAsync(HttpMethod.Delete, "/v1/functions/" + name, tenant.Key)).Expect(204);

        var rows = VaultDatabase.Query(_server.DataDirectory, "SELECT action, targets, detail FROM audit WHERE tenant_id = $t AND action LIKE 'function.%' ORDER BY seq", ("$t", tenant.Id));
        Assert.Equal(["function.deploy", "function.delete"], rows.Select(r => (string)r[0]!));
        Assert.Equal($"[\"{name}\"]", rows[0][1]);
        Assert.Equal($"version=1 measurement={measurement}", rows[0][2]);
    }
}
