using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Hostile;

/// <summary>
/// Hostile functions that reach for what a sandbox must not see — host files, the network, a previous
/// invocation's scratch files, tokens they are not allowed — over HTTP on a real server per backend. The
/// function reports what it observed; the test asserts nothing leaked.
/// </summary>
public sealed class HostileAccessTests(HostileServers servers) : IClassFixture<HostileServers>
{
    private Task<HostileTenant> TenantAsync(string backend) => HostileTenant.CreateAsync(servers[backend]);

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task HostFiles_ShadowTheDataDirAndTheMasterKey_AreNotVisible(string backend)
    {
        const string source = """
            import os
            def probe(path):
                try:
                    if os.path.isdir(path):
                        return 'listed:' + ','.join(sorted(os.listdir(path)))
                    with open(path, 'rb') as f:
                        return 'read:' + f.read(64).hex()
                except FileNotFoundError:
                    return 'absent'
                except PermissionError:
                    return 'denied'
                except OSError as e:
                    return 'error:' + type(e).__name__
            def handle(event, ctx):
                paths = dict(event['paths'], self=os.path.abspath(__file__))
                return {name: probe(path) for name, path in paths.items()}
            """;
        var tenant = await TenantAsync(backend);
        var server = tenant.Server;
        var name = await tenant.DeployPythonAsync("files", source);
        Assert.True(File.Exists(server.MasterKeyPath) && File.Exists("/etc/shadow"), "the host files the function looks for exist");
        var paths = new Dictionary<string, string>
        {
            ["shadow"] = "/etc/shadow",
            ["dataDir"] = server.DataDirectory,
            ["masterKey"] = server.MasterKeyPath,
            ["credentials"] = Path.Combine(server.DataDirectory, "credentials.json"),
            ["proc1Root"] = "/proc/1/root" + server.MasterKeyPath,
        };

        var seen = (await tenant.ResultAsync(name, new { paths })).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

        Assert.StartsWith("read:", seen["self"], StringComparison.Ordinal); // the probe works where reading is allowed
        Assert.Contains(seen["shadow"], new[] { "absent", "denied" });
        foreach (var hidden in new[] { "dataDir", "masterKey", "credentials", "proc1Root" })
        {
            Assert.True(seen[hidden] is "absent" or "denied", $"{hidden}: {seen[hidden]}");
        }
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task TcpConnections_ToTheServersOwnPortAndToATestHost_Fail(string backend)
    {
        const string source = """
            import socket
            def connect(host, port):
                try:
                    socket.create_connection((host, port), timeout=1).close()
                    return 'connected'
                except OSError as e:
                    return 'failed:' + type(e).__name__
            def handle(event, ctx):
                return {name: connect(t['host'], t['port']) for name, t in event['targets'].items()}
            """;
        var tenant = await TenantAsync(backend);
        await using var testHost = await TestNetworkHost.StartAsync();
        await testHost.AssertReachableFromTheTestAsync();
        var name = await tenant.DeployPythonAsync("net", source, new { wallTimeoutSeconds = 5 });
        var targets = new Dictionary<string, object>
        {
            ["server"] = new { host = "127.0.0.1", port = tenant.Server.BaseAddress.Port },
            ["testHost"] = new { host = testHost.Address, port = TestNetworkHost.Port },
        };

        var seen = (await tenant.ResultAsync(name, new { targets })).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

        Assert.StartsWith("failed:", seen["server"], StringComparison.Ordinal);
        Assert.StartsWith("failed:", seen["testHost"], StringComparison.Ordinal);
        await tenant.AssertServedAsync();
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task AFileLeftInTmpfs_IsGoneForTheNextInvocation_OfTheSameWarmSandbox(string backend)
    {
        const string source = """
            import os
            def handle(event, ctx):
                seen = sorted(os.listdir('/tmp'))
                with open('/tmp/leftover', 'w') as f:
                    f.write(event['mark'])
                os.makedirs('/tmp/nested/deeper', exist_ok=True)
                return {'seen': seen, 'pid': os.getpid()}
            """;
        var tenant = await TenantAsync(backend);
        var name = await tenant.DeployPythonAsync("tmpfs", source);

        var first = (await tenant.InvokeAsync(name, new { mark = "first" })).Expect(200).Json;
        var second = (await tenant.InvokeAsync(name, new { mark = "second" })).Expect(200).Json;

        Assert.True(second.GetProperty("warm").GetBoolean(), "the second invocation ran in the warm sandbox");
        Assert.Equal(first.GetProperty("result").GetProperty("pid").GetInt32(), second.GetProperty("result").GetProperty("pid").GetInt32());
        Assert.Empty(first.GetProperty("result").GetProperty("seen").EnumerateArray());
        Assert.Empty(second.GetProperty("result").GetProperty("seen").EnumerateArray());
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task ATokenOfAClassifierTheManifestDoesNotAllow_IsClassifierNotPermitted_AndNeverRevealed(string backend)
    {
        const string source = """
            def handle(event, ctx):
                if 'asArg' in event:
                    return {'got': event['asArg']}
                try:
                    return {'got': ctx.reveal(event['token'])}
                except Exception as e:
                    return {'refused': e.code}
            """;
        var tenant = await TenantAsync(backend);
        var ssn = Values.Ssn();
        var token = await tenant.Server.CreateTokenAsync(tenant.Tenant.Key, new { value = ssn, classifier = "ssn" });
        var name = await tenant.DeployPythonAsync("classifier", source, permissions: new { reveal = new[] { "card" } });

        var asArg = await tenant.InvokeAsync(name, new { asArg = new Dictionary<string, string> { ["$token"] = token } });
        var byCall = await tenant.ResultAsync(name, new { token });

        var problem = ProblemAssert.Is(asArg, 422, "classifier-not-permitted");
        Assert.Contains("ssn", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("permission-denied", byCall.GetProperty("refused").GetString());
        AssertNowhere(tenant.Server, ssn);
        await tenant.AssertServedAsync();
    }

    [Theory]
    [MemberData(nameof(HostileServers.Backends), MemberType = typeof(HostileServers))]
    public async Task AnotherTenantsToken_AnswersExactlyLikeANonexistentToken(string backend)
    {
        const string source = """
            def handle(event, ctx):
                if 'asArg' in event:
                    return {'got': event['asArg']}
                try:
                    return {'got': ctx.reveal(event['token'])}
                except Exception as e:
                    return {'refused': e.code, 'message': e.message.replace(event['token'], '<token>')}
            """;
        var tenant = await TenantAsync(backend);
        var other = await tenant.Server.CreateTenantAsync();
        var card = Values.Card();
        var foreign = await tenant.Server.CreateTokenAsync(other.Key, new { value = card, format = "pan", classifier = "card" });
        var missing = "tok_" + new string('x', 22);
        var name = await tenant.DeployPythonAsync("foreign", source, permissions: new { reveal = new[] { "*" } });

        var theirs = ProblemAssert.Is(await tenant.InvokeAsync(name, new { asArg = new Dictionary<string, string> { ["$token"] = foreign } }), 422, "unknown-token");
        var nobodys = ProblemAssert.Is(await tenant.InvokeAsync(name, new { asArg = new Dictionary<string, string> { ["$token"] = missing } }), 422, "unknown-token");
        var theirsByCall = await tenant.ResultAsync(name, new { token = foreign });
        var nobodysByCall = await tenant.ResultAsync(name, new { token = missing });

        Assert.Equal(WithoutInvocationId(nobodys), WithoutInvocationId(theirs));
        Assert.Equal("not-found", theirsByCall.GetProperty("refused").GetString());
        Assert.Equal(nobodysByCall.GetRawText(), theirsByCall.GetRawText());
        AssertNowhere(tenant.Server, card);
    }

    /// <summary>A problem's members but its invocation and trace ids, which differ by design.</summary>
    private static Dictionary<string, string> WithoutInvocationId(JsonElement problem)
        => problem.EnumerateObject().Where(p => p.Name is not ("invocationId" or "traceId")).ToDictionary(p => p.Name, p => p.Value.GetRawText());

    /// <summary>The value is in no answer the server gave and in no log line it wrote.</summary>
    private static void AssertNowhere(TestServer server, string value)
    {
        foreach (var response in server.Exchanges)
        {
            ProblemAssert.DoesNotContain(response, value);
        }

        Assert.DoesNotContain(server.LogEntries, e => e.Text.Contains(value, StringComparison.Ordinal));
    }
}
