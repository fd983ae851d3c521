using System.Text.Json;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>The real <c>cloister functions …</c> commands against a running server.</summary>
public sealed class FunctionCliTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    private Task<CliResult> RunAsync(params string[] args) => CloisterProcess.RunAsync([.. args, "--data-dir", _server.DataDirectory]);

    private static CliResult Ok(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private static string Name() => "cli-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task DeployListGetDelete_WithFlags_DefaultEntrypointMainPy()
    {
        using var dir = TempDirectory.Create("fn");
        File.WriteAllText(dir.File("main.py"), FunctionBundles.TrivialPython);
        var name = Name();

        var deployed = JsonDocument.Parse(Ok(await RunAsync("functions", "deploy", dir.Path, "--name", name, "--runtime", "python3", "--json")).Stdout).RootElement;
        Assert.Equal((name, 1, "python3"), (deployed.GetProperty("name").GetString(), deployed.GetProperty("version").GetInt32(), deployed.GetProperty("runtime").GetString()));
        var measurement = deployed.GetProperty("measurement").GetString()!;

        // Deploying the unchanged directory again is the same version.
        var again = Ok(await RunAsync("functions", "deploy", dir.Path, "--name", name, "--runtime", "python3"));
        Assert.Contains("version      1", again.Stdout, StringComparison.Ordinal);
        Assert.Contains(measurement, again.Stdout, StringComparison.Ordinal);

        var list = Ok(await RunAsync("functions", "list"));
        Assert.Contains($"{name}\tv1\tpython3\t{measurement}", list.StdoutLines);

        var get = Ok(await RunAsync("functions", "get", name));
        Assert.Equal(name, get.StdoutLines[0]);
        Assert.StartsWith($"v1\tpython3\t{measurement}\t", get.StdoutLines[1], StringComparison.Ordinal);

        Assert.Equal(["deleted"], Ok(await RunAsync("functions", "delete", name)).StdoutLines);
        var gone = await RunAsync("functions", "get", name);
        Assert.Equal(1, gone.ExitCode);
        Assert.Equal(["cloister: Function not found: No such function in this tenant."], gone.StderrLines);
    }

    [Fact]
    public async Task Deploy_UsesCloisterJson_AsTheManifest_AndLeavesItOutOfTheBundle()
    {
        using var dir = TempDirectory.Create("fn");
        Directory.CreateDirectory(dir.File("src"));
        File.WriteAllText(dir.File("src/handler.py"), FunctionBundles.TrivialPython);
        File.WriteAllText(dir.File("cloister.json"), """{"runtime":"python3","entrypoint":"src/handler.py","permissions":{"reveal":["card"]}}""");
        var name = Name();

        var deployed = JsonDocument.Parse(Ok(await RunAsync("functions", "deploy", dir.Path, "--name", name, "--json")).Stdout).RootElement;

        // The measurement is that of the bundle without cloister.json: the same files deployed over HTTP measure the same.
        var direct = await _server.SendAsync(HttpMethod.Put, "/v1/functions/" + name, _server.DefaultTenant.Key, FunctionBundles.DeployBody(
            new { runtime = "python3", entrypoint = "src/handler.py", permissions = new { reveal = new[] { "card" } } },
            Archives.TarGz(("src/handler.py", FunctionBundles.TrivialPython))));
        Assert.Equal(deployed.GetProperty("measurement").GetString(), direct.Expect(200).Text("measurement"));

        var detail = JsonDocument.Parse(Ok(await RunAsync("functions", "get", name, "--json")).Stdout).RootElement;
        var manifest = detail.GetProperty("versions")[0].GetProperty("manifest");
        Assert.Equal("src/handler.py", manifest.GetProperty("entrypoint").GetString());
        Assert.Equal("card", manifest.GetProperty("permissions").GetProperty("reveal")[0].GetString());

        // A flag overrides the file.
        File.WriteAllText(dir.File("main.py"), FunctionBundles.TrivialPython);
        var overridden = JsonDocument.Parse(Ok(await RunAsync("functions", "deploy", dir.Path, "--name", name, "--entrypoint", "main.py", "--json")).Stdout).RootElement;
        Assert.Equal(2, overridden.GetProperty("version").GetInt32());
    }

    /// <summary>Text mode used to print the result only: which version and measurement ran, and whether warm, showed only with --json.</summary>
    [Fact]
    public async Task Invoke_PrintsTheResultOnStdout_AndOneLineOnStderrNamingVersionMeasurementAndWarmth()
    {
        using var dir = TempDirectory.Create("fn");
        File.WriteAllText(dir.File("main.py"), FunctionBundles.TrivialPython);
        var name = Name();
        var measurement = JsonDocument.Parse(Ok(await RunAsync("functions", "deploy", dir.Path, "--name", name, "--runtime", "python3", "--json")).Stdout).RootElement.GetProperty("measurement").GetString();

        foreach (var _ in Enumerable.Range(0, 2))
        {
            var invoked = Ok(await RunAsync("functions", "invoke", name));

            Assert.Equal(["""{"ok":true}"""], invoked.StdoutLines);
            var line = Assert.Single(invoked.StderrLines);
            var match = System.Text.RegularExpressions.Regex.Match(line, $@"^cloister: invocation (inv_\S+): {name} v1, measurement {measurement}, (warm sandbox|cold start), \d+ ms$");
            Assert.True(match.Success, line);

            // The line says what the router recorded for that invocation.
            var stored = JsonDocument.Parse(Ok(await RunAsync("invocations", "get", match.Groups[1].Value, "--json")).Stdout).RootElement;
            Assert.Equal(stored.GetProperty("warm").GetBoolean(), match.Groups[2].Value == "warm sandbox");
        }
    }

    [Fact]
    public async Task Deploy_Mistakes_AreOneLineErrors_WithNonZeroExit()
    {
        using var dir = TempDirectory.Create("fn");
        File.WriteAllText(dir.File("main.py"), FunctionBundles.TrivialPython);

        var noRuntime = await RunAsync("functions", "deploy", dir.Path, "--name", Name());
        Assert.Equal(2, noRuntime.ExitCode);
        Assert.Single(noRuntime.StderrLines);
        Assert.Contains("--runtime is required", noRuntime.Stderr, StringComparison.Ordinal);

        var badManifest = await RunAsync("functions", "deploy", dir.Path, "--name", Name(), "--runtime", "node");
        Assert.Equal(1, badManifest.ExitCode);
        Assert.Equal(["cloister: Invalid manifest: manifest.entrypoint: 'index.js' is not a file in the bundle"], badManifest.StderrLines);

        var badName = await RunAsync("functions", "deploy", dir.Path, "--name", "Not Valid", "--runtime", "python3");
        Assert.Equal(1, badName.ExitCode);
        Assert.Contains("Invalid function name", badName.Stderr, StringComparison.Ordinal);

        var missingDir = await RunAsync("functions", "deploy", dir.File("nope"), "--name", Name(), "--runtime", "python3");
        Assert.Equal(2, missingDir.ExitCode);

        var badArgs = await RunAsync("functions", "invoke", "anything", "--args", "{secret-looking");
        Assert.Equal(2, badArgs.ExitCode);
        Assert.Equal(["cloister: --args is not valid JSON."], badArgs.StderrLines);

        var unknown = await RunAsync("functions", "invoke", Name(), "--args", "{}");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal(["cloister: Function not found: No such function in this tenant."], unknown.StderrLines);

        var noInvocation = await RunAsync("invocations", "get", "inv_nothing");
        Assert.Equal(1, noInvocation.ExitCode);
        Assert.Single(noInvocation.StderrLines);
    }
}
