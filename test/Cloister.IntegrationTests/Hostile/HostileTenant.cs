using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Hostile;

/// <summary>A fresh tenant on one backend's server, with helpers to deploy and invoke its functions.</summary>
internal sealed class HostileTenant
{
    /// <summary>A well-behaved function: it adds two numbers.</summary>
    private const string Adder = "def handle(event, ctx):\n    return {'sum': event['a'] + event['b']}\n";

    private HostileTenant(TestServer server, TenantHandle tenant, string adder)
    {
        Server = server;
        Tenant = tenant;
        AdderName = adder;
    }

    public TestServer Server { get; }

    public TenantHandle Tenant { get; }

    private string AdderName { get; }

    /// <summary>Creates a tenant and deploys (and warms) its well-behaved function.</summary>
    public static async Task<HostileTenant> CreateAsync(TestServer server)
    {
        var tenant = new HostileTenant(server, await server.CreateTenantAsync(), Name("adder"));
        await tenant.DeployAsync(tenant.AdderName, FunctionBundles.Python(Adder));
        await tenant.AssertServedAsync();
        return tenant;
    }

    public static string Name(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    public async Task<string> DeployAsync(string name, string body)
        => (await Server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, Tenant.Key, body)).Expect(201).Text("measurement");

    /// <summary>Deploys a Python function with small limits (unlisted ones default) and returns its name.</summary>
    public async Task<string> DeployPythonAsync(string prefix, string source, object? limits = null, object? permissions = null)
    {
        var name = Name(prefix);
        await DeployAsync(name, FunctionBundles.Python(source, permissions, limits ?? new { wallTimeoutSeconds = 2 }));
        return name;
    }

    public Task<ApiResponse> InvokeAsync(string name, object args)
        => Server.SendAsync(HttpMethod.Post, $"/v1/functions/{name}/invoke", Tenant.Key, TestServer.Json(new { args }));

    /// <summary>Invokes and returns the result of a 200 answer (fails the test otherwise).</summary>
    public async Task<JsonElement> ResultAsync(string name, object args)
        => (await InvokeAsync(name, args)).Expect(200).Json.GetProperty("result");

    /// <summary>The well-behaved function still answers, with the right result.</summary>
    public async Task AssertServedAsync()
    {
        var (a, b) = (Random.Shared.Next(1000), Random.Shared.Next(1000));
        Assert.Equal(a + b, (await ResultAsync(AdderName, new { a, b })).GetProperty("sum").GetInt32());
    }

    /// <summary>
    /// Invokes the hostile function and, once it has had time to start, the well-behaved one several times meanwhile;
    /// asserts the hostile one ends in the problem <paramref name="code"/> and everything else succeeded, and returns the problem.
    /// With <paramref name="outlasts"/> the hostile invocation must still be running when the well-behaved ones are done.
    /// </summary>
    public Task<JsonElement> AssertContainedAsync(string name, object args, string code, bool outlasts = false)
        => AssertContainedAsync(name, args, [code], outlasts);

    /// <summary>As above, where the problem may be any of <paramref name="codes"/> (the first is expected when none matches).</summary>
    public async Task<JsonElement> AssertContainedAsync(string name, object args, string[] codes, bool outlasts = false)
    {
        var hostile = InvokeAsync(name, args);
        await Task.Delay(300);
        await Task.WhenAll(AssertServedAsync(), AssertServedAsync());
        if (outlasts)
        {
            Assert.False(hostile.IsCompleted, "the hostile invocation ended before the well-behaved ones ran beside it");
        }

        var response = await hostile;
        var problem = ProblemAssert.Is(response, 422, codes.FirstOrDefault(c => response.Type == ProblemAssert.TypePrefix + c) ?? codes[0]);
        Assert.StartsWith("inv_", problem.GetProperty("invocationId").GetString(), StringComparison.Ordinal);
        await AssertServedAsync();
        return problem;
    }
}
