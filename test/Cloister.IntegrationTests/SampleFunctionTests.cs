using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>
/// The sample functions of samples/functions, deployed to a real server and invoked with real
/// tokens over HTTP, as the samples' README tour does: the card number is revealed only inside the
/// sandbox, and never comes back in a response.
/// </summary>
/// <remarks>
/// The samples' handlers are also run on the real runners, in every backend, by
/// Cloister.Sandbox.Tests' UnsandboxedBackendTests, which do not need the functions API.
/// </remarks>
public sealed class SampleFunctionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    /// <summary>
    /// The functions HTTP API and invocation pipeline are built on other branches; set this to null
    /// when they are merged, and these tests run.
    /// </summary>

    private readonly TestServer _server = fixture.Server;

    private string Key => _server.DefaultTenant.Key;

    [Fact]
    public async Task CardRisk_InvokedWithAPanToken_ScoresTheCard_AndReturnsOnlyBinAndLast4()
    {
        var pan = Values.Card();
        var token = await _server.CreateTokenAsync(Key, new { value = pan, format = "pan", classifier = "pan" });
        var name = Values.Unique("card-risk");
        var deployed = (await DeployAsync(name, "card-risk")).Expect(201);

        var invoked = (await InvokeAsync(name, new { card = new Dictionary<string, string> { ["$token"] = token }, amount = 1250, country = "US" })).Expect(200);

        var body = invoked.Json;
        Assert.Equal("succeeded", body.GetProperty("status").GetString());
        Assert.Equal(deployed.Json.GetProperty("version").GetInt64(), body.GetProperty("version").GetInt64());
        Assert.Equal(deployed.Text("measurement"), body.GetProperty("measurement").GetString());
        var result = body.GetProperty("result");
        Assert.Equal(pan[..6], result.GetProperty("bin").GetString());
        Assert.Equal(pan[^4..], result.GetProperty("last4").GetString());
        Assert.Contains(result.GetProperty("decision").GetString(), new[] { "approve", "review", "decline" });
        Assert.InRange(result.GetProperty("score").GetDouble(), 0, 1);
        Assert.Contains("card-risk:", body.GetProperty("logs").GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(pan, invoked.Everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CardRisk_TokenOfAClassifierTheManifestDoesNotAllow_IsRefusedWithoutTheValue()
    {
        var pan = Values.Card();
        var token = await _server.CreateTokenAsync(Key, new { value = pan, format = "pan", classifier = "bank-account" });
        var name = Values.Unique("card-risk");
        (await DeployAsync(name, "card-risk")).Expect(201);

        var refused = await InvokeAsync(name, new { card = new Dictionary<string, string> { ["$token"] = token }, amount = 10, country = "US" });

        Assert.Equal(422, refused.StatusCode);
        Assert.StartsWith(ProblemAssert.TypePrefix, refused.Type, StringComparison.Ordinal);
        Assert.Contains("bank-account", refused.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(pan, refused.Everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PaymentRequest_DeployedWithTheCli_ReturnsAPanTokenInPlaceOfTheCard_ThatRevealsBackToIt()
    {
        var pan = Values.Card();
        var token = await _server.CreateTokenAsync(Key, new { value = pan, format = "pan", classifier = "pan" });
        var name = Values.Unique("payment-request");
        var deploy = await CloisterProcess.RunAsync("functions", "deploy", SampleDirectory("payment-request"), "--name", name, "--data-dir", _server.DataDirectory);
        Assert.True(deploy.ExitCode == 0, deploy.ToString());

        var invoked = (await InvokeAsync(name, new { card = new Dictionary<string, string> { ["$token"] = token }, exp = "12/29", amount = "42.50", currency = "EUR", orderId = "order-1001" })).Expect(200);

        var request = invoked.Json.GetProperty("result");
        Assert.Equal(4250, request.GetProperty("body").GetProperty("amount").GetInt32());
        var number = request.GetProperty("body").GetProperty("source").GetProperty("number").GetString()!;
        Assert.NotEqual(pan, number);
        Assert.Matches($"^{pan[..6]}[0-9]{{6}}{pan[^4..]}$", number);
        Assert.DoesNotContain(pan, invoked.Everything, StringComparison.Ordinal);
        Assert.Equal(pan, await _server.RevealValueAsync(Key, number));
    }

    [Fact]
    public async Task Tour_CliDeployAndInvoke_PrintTheScore_NeverTheCard()
    {
        var pan = Values.Card();
        var token = await _server.CreateTokenAsync(Key, new { value = pan, format = "pan", classifier = "pan" });
        var name = Values.Unique("card-risk");
        var deploy = await CloisterProcess.RunAsync("functions", "deploy", SampleDirectory("card-risk"), "--name", name, "--data-dir", _server.DataDirectory);
        Assert.True(deploy.ExitCode == 0, deploy.ToString());

        var args = JsonSerializer.Serialize(new { card = new Dictionary<string, string> { ["$token"] = token }, amount = 1250, country = "US" });
        var invoke = await CloisterProcess.RunAsync("functions", "invoke", name, "--args", args, "--data-dir", _server.DataDirectory);

        Assert.True(invoke.ExitCode == 0, invoke.ToString());
        Assert.Contains("decision", invoke.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(pan, invoke.Stdout + invoke.Stderr, StringComparison.Ordinal);
    }

    private Task<ApiResponse> InvokeAsync(string name, object args)
        => _server.SendAsync(HttpMethod.Post, $"/v1/functions/{name}/invoke", Key, TestServer.Json(new { args }));

    /// <summary>PUT /v1/functions/{name} with the sample's cloister.json as the manifest and its other files as the bundle.</summary>
    private Task<ApiResponse> DeployAsync(string name, string sample)
    {
        var directory = SampleDirectory(sample);
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "cloister.json")));
        var body = TestServer.Json(new { manifest = manifest.RootElement, bundle = Convert.ToBase64String(TarGz(directory)) });
        return _server.SendAsync(HttpMethod.Put, $"/v1/functions/{name}", Key, body);
    }

    /// <summary>The sample's files other than cloister.json, at the bundle's root.</summary>
    private static byte[] TarGz(string directory) => Archives.TarGz(tar =>
    {
        foreach (var file in Directory.EnumerateFiles(directory).Where(f => Path.GetFileName(f) != "cloister.json").Order(StringComparer.Ordinal))
        {
            Archives.File(tar, Path.GetFileName(file), File.ReadAllBytes(file));
        }
    });

    private static string SampleDirectory(string sample) => Path.Combine(RepositoryRoot.Find(), "samples", "functions", sample);
}
