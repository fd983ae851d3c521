using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Cloister.Enclave;
using Cloister.Enclave.Attestation;
using Cloister.IntegrationTests.Support;
using Cloister.Protocol;

namespace Cloister.IntegrationTests;

/// <summary><c>cloister keybroker</c> as a real process: the attested exchange over HttpFrameTransport, and its start-up errors.</summary>
public sealed partial class KeyBrokerProcessTests
{
    [Fact]
    public async Task KeyBrokerProcess_ReleasesKeysOverHttp_ToAnAttestedEnclave()
    {
        using var data = TempDirectory.Create("keybroker");
        var attestation = LocalAttestation.CreateSimulated(data.Path);
        File.WriteAllText(data.File("attestation-policy.json"), attestation.Policy.Serialize());
        var (process, output, url) = await StartAsync(data.Path);
        try
        {
            using var http = new HttpClient();
            var transport = new HttpFrameTransport(http, new Uri(url + "/v1/broker/frames"));
            await using var enclave = new EnclaveHost(transport, null, attestation.Identity);

            var created = await SendAsync<CreateTenantKeysResponse>(enclave, new CreateTenantKeysRequest { TenantId = "acme" });
            var tokenized = await SendAsync<TokenizeResponse>(enclave, new TokenizeRequest(1, [new TokenizeItem("4111111111111111", "random", null, "default", false)]) { TenantId = "acme", Keys = created.Keys });
            var result = Assert.Single(tokenized.Results);
            var revealed = await SendAsync<RevealResponse>(enclave, new RevealRequest([new RevealItem(result.Token!, "random", null, 1, result.Ciphertext)]) { TenantId = "acme" });

            Assert.Equal("4111111111111111", Assert.Single(revealed.Results).Value);
            var audit = File.ReadAllLines(data.File("keybroker-audit.jsonl"));
            Assert.Contains("\"event\":\"release\"", Assert.Single(audit), StringComparison.Ordinal);
            Assert.Matches(@"cloister keybroker: WARNING: the policy accepts SIMULATED evidence", output.ToString());
            Assert.DoesNotContain("4111111111111111", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
        }
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

    private static async Task<(Process Process, StringBuilder Output, string Url)> StartAsync(string dataDirectory)
    {
        var process = new Process { StartInfo = CloisterProcess.StartInfo(["keybroker", "--data-dir", dataDirectory]), EnableRaisingEvents = true };
        var output = new StringBuilder();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            if (ListeningLine().Match(line) is { Success: true } match)
            {
                url.TrySetResult(match.Groups[1].Value);
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) => url.TrySetException(new InvalidOperationException("cloister keybroker exited before listening"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            return (process, output, await url.Task.WaitAsync(TimeSpan.FromMinutes(1)));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            process.Kill();
            process.Dispose();
            Assert.Fail($"cloister keybroker did not report a URL ({e.Message}). Output:\n{output}");
            throw;
        }
    }

    private static async Task<T> SendAsync<T>(EnclaveHost enclave, EnclaveRequest request)
        where T : EnclaveResponse
        => Assert.IsType<T>(EnclaveCodec.DecodeResponse(await enclave.HandleAsync(EnclaveCodec.Encode(request), CancellationToken.None)));

    [GeneratedRegex(@"^cloister keybroker: listening on (\S+)$")]
    private static partial Regex ListeningLine();
}
