using System.Text;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Sealed;

/// <summary>The real <c>cloister tokens … --sealed</c> and <c>cloister functions invoke --sealed</c> commands against a router with an attested worker.</summary>
public sealed class SealedCliTests : IAsyncLifetime
{
    private SealedServer _sealed = null!;

    public async Task InitializeAsync() => _sealed = await SealedServer.StartAsync();

    public async Task DisposeAsync() => await _sealed.DisposeAsync();

    private Task<CliResult> RunAsync(params string[] args) => CloisterProcess.RunAsync([.. args, "--data-dir", _sealed.Server.DataDirectory]);

    private const string SimulatedWarning = "cloister: warning: the attestation policy";

    /// <summary>Stderr without the warning every sealed command prints while the policy accepts simulated evidence.</summary>
    private static List<string> Errors(CliResult result) => [.. result.StderrLines.Where(line => !line.StartsWith(SimulatedWarning, StringComparison.Ordinal))];

    private static CliResult Ok(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    [Fact]
    public async Task TokensCreateAndReveal_Sealed_WithAnExplicitPolicy_AndTheDataDirectoryDefault()
    {
        var token = Ok(await RunAsync("tokens", "create", "cli-sealed-value", "--sealed", "--policy", _sealed.PolicyPath)).StdoutLines.Single();
        Assert.StartsWith("tok_", token, StringComparison.Ordinal);
        Assert.Equal(["cli-sealed-value"], Ok(await RunAsync("tokens", "reveal", token, "--sealed", "--policy", _sealed.PolicyPath)).StdoutLines);

        var missing = await RunAsync("tokens", "reveal", token, "--sealed");
        Assert.Equal(2, missing.ExitCode);
        Assert.StartsWith("cloister: No attestation policy: pass --policy FILE", missing.StderrLines.Single(), StringComparison.Ordinal);

        File.Copy(_sealed.PolicyPath, Path.Combine(_sealed.Server.DataDirectory, "attestation-policy.json"));
        Assert.Equal(["cli-sealed-value"], Ok(await RunAsync("tokens", "reveal", token, "--sealed")).StdoutLines);
    }

    [Fact]
    public async Task TokensCreate_Sealed_RefusesAWorkerThePolicyDoesNotTrust_BeforeSending()
    {
        var strict = _sealed.WritePolicy(_sealed.PolicyFor([new string('c', 96)]));

        var refused = await RunAsync("tokens", "create", "never-sent", "--sealed", "--policy", strict);

        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("cloister: Attestation refused: the policy trusts no worker", Errors(refused).Single(), StringComparison.Ordinal);
        Assert.DoesNotContain("never-sent", refused.Stderr, StringComparison.Ordinal);
    }

    /// <summary>The README's recipe: 'attest policy --strict' keeps the worker pin and drops the simulated opt-in, so a simulated worker fails it before anything is sent.</summary>
    [Fact]
    public async Task AttestPolicyStrict_KeepsThePins_AndASimulatedWorkerFailsIt_WhileTheDefaultPolicyPasses()
    {
        File.Copy(_sealed.PolicyPath, Path.Combine(_sealed.Server.DataDirectory, "attestation-policy.json"), overwrite: true);
        var token = Ok(await RunAsync("tokens", "create", "strict-value")).StdoutLines.Single();

        Assert.True(AttestationPolicyFile.TryParse(Encoding.UTF8.GetBytes(Ok(await RunAsync("attest", "policy")).Stdout), out var printed, out var error), error);
        Assert.True(printed.AllowsSimulated);
        var strictText = Ok(await RunAsync("attest", "policy", "--strict")).Stdout;
        Assert.True(AttestationPolicyFile.TryParse(Encoding.UTF8.GetBytes(strictText), out var strict, out error), error);
        Assert.False(strict.AllowsSimulated);
        Assert.DoesNotContain(TeeType.Simulated, strict.Appraisal.AllowedTees);
        Assert.False(strict.AcceptWarnings);
        Assert.Null(strict.GeneratedBy);
        Assert.Equal([_sealed.WorkerMeasurement], strict.Workers.Select(w => w.Measurement));

        using var dir = TempDirectory.Create("strict-policy");
        var strictPath = dir.File("strict-policy.json");
        await File.WriteAllTextAsync(strictPath, strictText);
        var refused = await RunAsync("tokens", "reveal", token, "--sealed", "--policy", strictPath);
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("cloister: Attestation refused", refused.StderrLines.Single(), StringComparison.Ordinal);
        Assert.Equal("", refused.Stdout);

        Assert.Equal(["strict-value"], Ok(await RunAsync("tokens", "reveal", token, "--sealed")).StdoutLines);
    }

    [Fact]
    public async Task Sealed_PolicyNamingAMissingFile_SaysThatFileDoesNotExist()
    {
        var result = await RunAsync("tokens", "reveal", "tok_x", "--sealed", "--policy", "strict-policy.json");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(["cloister: --policy: strict-policy.json does not exist."], result.StderrLines);
    }

    [Fact]
    public async Task FunctionsInvoke_Sealed_PinsTheMeasurement_OrSaysHowToGetIt()
    {
        using var dir = TempDirectory.Create("fn");
        File.WriteAllText(dir.File("main.py"), "def handle(event, ctx):\n    ctx.log('hello')\n    return {'n': event['n'] * 2}\n");
        var name = "cli-sealed-" + Guid.NewGuid().ToString("N")[..8];
        var deployed = Ok(await RunAsync("functions", "deploy", dir.Path, "--name", name, "--runtime", "python3", "--json")).Stdout;
        var measurement = System.Text.Json.JsonDocument.Parse(deployed).RootElement.GetProperty("measurement").GetString()!;

        var result = Ok(await RunAsync("functions", "invoke", name, "--args", """{"n":21}""", "--sealed", "--policy", _sealed.PolicyPath, "--measurement", measurement));
        Assert.Equal(["""{"n":42}"""], result.StdoutLines);
        Assert.Equal(2, Errors(result).Count);
        Assert.Equal("log: hello", Errors(result)[0]);
        Assert.Matches($@"^cloister: invocation inv_\S+: {name} v1, measurement {measurement}, (warm sandbox|cold start), \d+ ms$", Errors(result)[1]);
        Assert.Contains(result.StderrLines, line => line.StartsWith(SimulatedWarning, StringComparison.Ordinal));

        var unpinned = await RunAsync("functions", "invoke", name, "--sealed", "--policy", _sealed.PolicyPath);
        Assert.Equal(2, unpinned.ExitCode);
        Assert.Equal([$"cloister: --sealed needs the function measurement to pin: pass --measurement M (from 'cloister functions get {name}') or add \"{name}\" to the policy's \"functions\"."], Errors(unpinned));

        var pinnedByPolicy = _sealed.WritePolicy(_sealed.PolicyFor([_sealed.WorkerMeasurement], functions: new Dictionary<string, IReadOnlyList<string>> { [name] = [measurement] }));
        Assert.Equal(["""{"n":2}"""], Ok(await RunAsync("functions", "invoke", name, "--args", """{"n":1}""", "--sealed", "--policy", pinnedByPolicy)).StdoutLines);
    }
}
