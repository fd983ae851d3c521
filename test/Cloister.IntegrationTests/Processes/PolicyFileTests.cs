using System.Text.Json.Nodes;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Processes;

/// <summary>serve writes the embedded default policy, keeps its worker pin current, and never rewrites an operator's file.</summary>
public sealed class PolicyFileTests
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task Serve_RepinsItsOwnPolicy_LeavesAnOperatorsPolicyAlone_AndWarnsAboutSimulatedEvidence()
    {
        using var data = TempDirectory.Create("policy-file");
        var path = Path.Combine(data.Path, "attestation-policy.json");
        string measurement;
        await using (var first = await ServerProcess.StartAsync(data.Path))
        {
            var policy = JsonNode.Parse(await File.ReadAllTextAsync(path))!;
            Assert.Equal("cloister serve (embedded default)", (string?)policy["generatedBy"]);
            Assert.Contains("simulated", policy["appraisal"]!["allowedTees"]!.AsArray().Select(t => (string?)t));
            Assert.True((bool)policy["acceptWarnings"]!);
            Assert.StartsWith("-----BEGIN PUBLIC KEY-----", (string?)policy["simulatedAttesterKey"], StringComparison.Ordinal);
            measurement = (string)policy["workers"]![0]!["measurement"]!;
            Assert.Contains($"cloister worker: measurement {measurement}", first.Output, StringComparison.Ordinal);
            Assert.Contains("WARNING: the attestation policy accepts SIMULATED evidence", first.Output, StringComparison.Ordinal);
        }

        // serve's own file with a stale pin: the next start pins the worker again.
        var stale = JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        stale["workers"]![0]!["measurement"] = new string('0', 96);
        await File.WriteAllTextAsync(path, stale.ToJsonString());
        await using (var second = await ServerProcess.StartAsync(data.Path))
        {
            Assert.Equal(measurement, (string?)JsonNode.Parse(await File.ReadAllTextAsync(path))!["workers"]![0]!["measurement"]);
            await AssertTokenizesAsync(second, data.Path);
        }

        // Without the marker the file is the operator's: byte for byte untouched, even with a stale pin.
        var operatorPolicy = JsonNode.Parse(await File.ReadAllTextAsync(path))!.AsObject();
        operatorPolicy.Remove("generatedBy");
        operatorPolicy["workers"]!.AsArray().Add(new JsonObject { ["measurement"] = new string('1', 96), ["tenants"] = new JsonArray("*") });
        var operatorText = operatorPolicy.ToJsonString();
        await File.WriteAllTextAsync(path, operatorText);
        await using (var third = await ServerProcess.StartAsync(data.Path))
        {
            Assert.Contains("(the operator's; serve leaves it as it is)", third.Output, StringComparison.Ordinal);
            Assert.Contains("WARNING: the attestation policy accepts SIMULATED evidence", third.Output, StringComparison.Ordinal);
            await AssertTokenizesAsync(third, data.Path);
        }

        Assert.Equal(operatorText, await File.ReadAllTextAsync(path));
    }

    /// <summary>docs/security.md lists both files as 0600: serve and its worker write them so, and narrow ones an earlier version left wider.</summary>
    [Fact]
    public async Task Serve_WritesThePolicyAndTheAttesterPublicKeyOwnerOnly_AndNarrowsWiderOnesAtTheNextStart()
    {
        using var data = TempDirectory.Create("policy-modes");
        string[] files = [data.File("attestation-policy.json"), data.File("simulated-attester.pub.pem")];
        await using (var first = await ServerProcess.StartAsync(data.Path))
        {
            Assert.All(files, file => Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(file)));
        }

        foreach (var file in files)
        {
            File.SetUnixFileMode(file, OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        await using var second = await ServerProcess.StartAsync(data.Path);
        Assert.All(files, file => Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(file)));
        await AssertTokenizesAsync(second, data.Path);
    }

    private static async Task AssertTokenizesAsync(ServerProcess server, string dataDirectory)
    {
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        var (status, body, _) = await ServeChildren.TokenizeAsync(http, ServeChildren.TenantKey(dataDirectory), "policy-value");
        Assert.True(status == 201, $"tokenize: {status} {body}");
    }
}
