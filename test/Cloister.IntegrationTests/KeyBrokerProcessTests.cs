using Cloister.Protocol.Http;
using Cloister.Enclave;
using Cloister.Enclave.Attestation;
using Cloister.IntegrationTests.Support;
using Cloister.Protocol;

namespace Cloister.IntegrationTests;

/// <summary><c>cloister keybroker</c> as a real process: the attested exchange over HttpFrameTransport, and its start-up errors.</summary>
public sealed class KeyBrokerProcessTests
{
    [Fact]
    public async Task KeyBrokerProcess_ReleasesKeysOverHttp_ToAnAttestedEnclave()
    {
        using var data = TempDirectory.Create("keybroker");
        var attestation = LocalAttestation.CreateSimulated(data.Path);
        File.WriteAllText(data.File("attestation-policy.json"), attestation.Policy.Serialize());
        await using var broker = await ServerProcess.StartCommandAsync(["keybroker", "--data-dir", data.Path]);
        using var http = new HttpClient();
        var transport = new HttpFrameTransport(http, new Uri(broker.Url + "/v1/broker/frames"));
        await using var enclave = new EnclaveHost(transport, null, attestation.Identity);

        var created = await SendAsync<CreateTenantKeysResponse>(enclave, new CreateTenantKeysRequest { TenantId = "acme" });
        var tokenized = await SendAsync<TokenizeResponse>(enclave, new TokenizeRequest(1, [new TokenizeItem("4111111111111111", "random", null, "default", false)]) { TenantId = "acme", Keys = created.Keys });
        var result = Assert.Single(tokenized.Results);
        var revealed = await SendAsync<RevealResponse>(enclave, new RevealRequest([new RevealItem(result.Token!, "random", null, 1, result.Ciphertext)]) { TenantId = "acme" });

        Assert.Equal("4111111111111111", Assert.Single(revealed.Results).Value);
        var audit = File.ReadAllLines(data.File("keybroker-audit.jsonl"));
        Assert.Contains("\"event\":\"release\"", Assert.Single(audit), StringComparison.Ordinal);
        Assert.Matches(@"cloister keybroker: WARNING: the policy accepts SIMULATED evidence", broker.Output);
        Assert.DoesNotContain("4111111111111111", broker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyBroker_WithoutAPolicyFile_ExitsWith2AndOneLine()
    {
        using var data = TempDirectory.Create("keybroker");

        var result = await CloisterProcess.RunAsync("keybroker", "--data-dir", data.Path);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("cloister: keybroker: no attestation policy at ", line, StringComparison.Ordinal);
        Assert.Contains("attestation-policy.json", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyBroker_WithAnInvalidPolicyFile_ExitsWith2()
    {
        using var data = TempDirectory.Create("keybroker");
        File.WriteAllText(data.File("policy.json"), """{ "appraisal": {}, "workers": "all" }""");

        var result = await CloisterProcess.RunAsync("keybroker", "--data-dir", data.Path, "--policy", data.File("policy.json"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("workers", result.Stderr, StringComparison.Ordinal);
    }

    private static async Task<T> SendAsync<T>(EnclaveHost enclave, EnclaveRequest request)
        where T : EnclaveResponse
        => Assert.IsType<T>(Frames.Enclave.DecodeResponse(await enclave.HandleAsync(Frames.Enclave.Encode(request), CancellationToken.None)));
}
