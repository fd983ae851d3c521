using System.Text.RegularExpressions;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Crypto;
using Cloister.IntegrationTests.Support;
using Cloister.KeyBroker;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// What each of serve's processes holds, read from the live processes as root would: the router maps no
/// key-holding assembly and its memory holds neither the master key nor a data key; the worker's holds the data key.
/// </summary>
public sealed partial class PartitionTests
{
    [Fact]
    public async Task Router_MapsNoEnclaveOrKeyBrokerAssembly_WhileTheWorkerDoes()
    {
        using var data = TempDirectory.Create("router-maps");
        await using var server = await ServerProcess.StartAsync(data.Path);
        await TokenizeAndRevealAsync(server, data.Path, "maps-value");

        var router = ProcessMemory.MappedFiles(server.Id).Select(Path.GetFileName).ToHashSet();
        var worker = ProcessMemory.MappedFiles(ServeChildren.WorkerPid(server)).Select(Path.GetFileName).ToHashSet();
        var broker = ProcessMemory.MappedFiles(ServeChildren.BrokerPid(server)).Select(Path.GetFileName).ToHashSet();

        // The controls: /proc/PID/maps does list the assemblies each process loaded.
        Assert.Contains("Cloister.Server.dll", router);
        Assert.Contains("Cloister.Enclave.dll", worker);
        Assert.Contains("Cloister.KeyBroker.dll", broker);

        Assert.DoesNotContain("Cloister.Enclave.dll", router);
        Assert.DoesNotContain("Cloister.KeyBroker.dll", router);
        Assert.DoesNotContain("Cloister.Sandbox.dll", router);
        Assert.DoesNotContain("Cloister.KeyBroker.dll", worker);
    }

    [Fact]
    public async Task MemoryDump_RouterHoldsNoMasterOrDataKeyOrSealedValue_WorkerHoldsTheDataKey()
    {
        using var data = TempDirectory.Create("memory-canaries");
        await using var server = await ServerProcess.StartAsync(data.Path);
        await TokenizeAndRevealAsync(server, data.Path, "canary-value-" + Guid.NewGuid().ToString("N"));

        // A sealed create and reveal through the real router, worker and ring: the router forwards ciphertext only.
        var sealedValue = "sealed-canary-" + Guid.NewGuid().ToString("N");
        Assert.True(AttestationPolicyFile.TryLoad(Path.Combine(data.Path, "attestation-policy.json"), out var policy, out var error), error);
        using (var http = new HttpClient { BaseAddress = new Uri(server.Url) })
        {
            var client = new Cloister.Client.CloisterClient(http, ServeChildren.TenantKey(data.Path));
            var created = await client.CreateSealedTokenAsync(sealedValue, policy);
            Assert.Equal(sealedValue, await client.RevealSealedAsync(created.Token, policy));
        }

        var masterKey = File.ReadAllBytes(Path.Combine(data.Path, "master.key"));
        var dataKey = UnwrapDataKey(data.Path, masterKey);
        byte[][] needles = [masterKey, dataKey, System.Text.Encoding.UTF8.GetBytes(sealedValue), System.Text.Encoding.Unicode.GetBytes(sealedValue)];

        var router = ProcessMemory.Contains(server.Id, needles);
        var worker = ProcessMemory.Contains(ServeChildren.WorkerPid(server), needles);
        var broker = ProcessMemory.Contains(ServeChildren.BrokerPid(server), needles);

        Assert.False(router[0], "the router's memory contains the master key.");
        Assert.False(router[1], "the router's memory contains the tenant's data key.");
        Assert.False(router[2] || router[3], "the router's memory contains the value of a sealed request.");
        Assert.True(worker[2] || worker[3], "the worker's memory does not contain the sealed value it opened (the scan would miss the canary).");
        Assert.True(worker[1], "the worker's memory does not contain the data key it decrypted with (the scan would miss a key).");
        Assert.False(worker[0], "the worker's memory contains the master key.");
        Assert.True(broker[0], "the broker's memory does not contain the master key (the scan would miss a key).");
    }

    [Fact]
    public async Task RemoteWorker_ServeWithWorkerUrl_TokenizesAndReveals()
    {
        using var brokerData = TempDirectory.Create("remote-broker");
        using var workerData = TempDirectory.Create("remote-worker");
        using var routerData = TempDirectory.Create("remote-router");
        // The operator's policy on the broker's host: first with no worker, then pinning the worker once it said who it is.
        var policyPath = Path.Combine(brokerData.Path, "policy.json");
        var policy = new AttestationPolicyFile
        {
            Appraisal = new AppraisalPolicy { AllowedTees = new HashSet<TeeType> { TeeType.Simulated } },
        };
        await File.WriteAllTextAsync(policyPath, policy.Serialize());
        await using var broker = await ServerProcess.StartCommandAsync(["keybroker", "--data-dir", brokerData.Path, "--policy", policyPath, "--urls", "http://127.0.0.1:0"]);
        var tokenPath = Path.Combine(workerData.Path, "router.token");
        await using var worker = await ServerProcess.StartCommandAsync(["worker", "--data-dir", workerData.Path, "--listen", "http://127.0.0.1:0", "--broker", broker.Url + "/v1/broker/frames", "--token-file", tokenPath]);
        var measurement = MeasurementLine().Match(worker.Output).Groups[1].Value;
        Assert.Contains("wrote a new router token to " + tokenPath, worker.Output, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenPath));
        await AssertWorkerRefusesFramesWithoutItsTokenAsync(worker.Url);
        await File.WriteAllTextAsync(policyPath, (policy with
        {
            SimulatedAttesterKey = await File.ReadAllTextAsync(Path.Combine(workerData.Path, "simulated-attester.pub.pem")),
            Workers = [new WorkerRule(measurement, [AttestationPolicyFile.Any])],
        }).Serialize());
        var withoutToken = await CloisterProcess.RunAsync("serve", "--data-dir", routerData.Path, "--urls", "http://127.0.0.1:0", "--worker-url", worker.Url);
        Assert.Equal(2, withoutToken.ExitCode);
        Assert.Contains("--worker-url needs --worker-token-file", withoutToken.Stderr, StringComparison.Ordinal);
        await using var server = await ServerProcess.StartAsync(routerData.Path, "--worker-url", worker.Url, "--worker-token-file", tokenPath);

        await TokenizeAndRevealAsync(server, routerData.Path, "remote-value");
        Assert.Contains("enclave worker: remote", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("cloister keybroker:", server.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(routerData.Path, "master.key")), "the router's data directory got a master key.");
    }

    [Fact]
    public async Task RemoteBroker_ServeWithBrokerUrl_TokenizesAndReveals_WithoutAMasterKeyOnTheRoutersHost()
    {
        using var brokerData = TempDirectory.Create("remote-broker");
        using var routerData = TempDirectory.Create("local-worker");
        // The worker's simulated attester key, provisioned before it starts so the broker's policy can name it.
        using var attester = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var keyPath = Path.Combine(routerData.Path, "simulated-attester.key");
        await File.WriteAllTextAsync(keyPath, attester.ExportPkcs8PrivateKeyPem());
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var policyPath = Path.Combine(brokerData.Path, "policy.json");
        await File.WriteAllTextAsync(policyPath, new AttestationPolicyFile
        {
            Appraisal = new AppraisalPolicy { AllowedTees = new HashSet<TeeType> { TeeType.Simulated } },
            SimulatedAttesterKey = attester.ExportSubjectPublicKeyInfoPem(),
            Workers = [new WorkerRule(AttestationPolicyFile.Any, [AttestationPolicyFile.Any])],
        }.Serialize());
        await using var broker = await ServerProcess.StartCommandAsync(["keybroker", "--data-dir", brokerData.Path, "--policy", policyPath, "--urls", "http://127.0.0.1:0"]);
        await using var server = await ServerProcess.StartAsync(routerData.Path, "--broker-url", broker.Url + "/v1/broker/frames");

        await TokenizeAndRevealAsync(server, routerData.Path, "value-keyed-elsewhere");
        Assert.Contains("key broker: remote", server.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(routerData.Path, "master.key")), "the router's host got a master key.");
        Assert.Contains("\"event\":\"release\"", await File.ReadAllTextAsync(Path.Combine(brokerData.Path, "keybroker-audit.jsonl")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListeningWorker_WithoutATokenFile_RefusesToStart()
    {
        using var workerData = TempDirectory.Create("untokened-worker");

        var result = await CloisterProcess.RunAsync("worker", "--data-dir", workerData.Path, "--listen", "http://127.0.0.1:0", "--broker", "http://127.0.0.1:9/v1/broker/frames");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--listen needs --token-file", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Frames without the worker's token, or with another, get 401 and never reach the enclave.</summary>
    private static async Task AssertWorkerRefusesFramesWithoutItsTokenAsync(string framesUrl)
    {
        using var http = new HttpClient();
        foreach (var authorization in new[] { null, "Bearer " + new string('x', 43), "Basic abc" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, framesUrl) { Content = new ByteArrayContent("{}"u8.ToArray()) };
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            using var response = await http.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    private static async Task TokenizeAndRevealAsync(ServerProcess server, string dataDirectory, string value)
    {
        var key = ServeChildren.TenantKey(dataDirectory);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        var (status, body, _) = await ServeChildren.TokenizeAsync(http, key, value);
        Assert.True(status == 201, $"tokenize: {status} {body}");
        var (revealed, plain, text) = await ServeChildren.RevealAsync(http, key, body.GetProperty("token").GetString()!);
        Assert.True(revealed == 200, $"reveal: {revealed} {text}");
        Assert.Equal(value, plain);
    }

    /// <summary>The default tenant's current data key, unwrapped from the store with the master key (what the worker holds).</summary>
    private static byte[] UnwrapDataKey(string dataDirectory, byte[] masterKey)
    {
        var tenant = ServeChildren.TenantId(dataDirectory);
        var row = Assert.Single(VaultDatabase.Query(dataDirectory, "SELECT version, blob FROM wrapped_keys WHERE tenant_id = $t AND purpose = 'data'", ("$t", tenant)));
        using var envelope = new EnvelopeKey(masterKey);
        Assert.True(envelope.TryOpen((byte[])row[1]!, KeyWrapContext.Create(tenant, "data", checked((int)(long)row[0]!)), out var dataKey));
        return dataKey!;
    }

    [GeneratedRegex(@"cloister worker: measurement ([0-9a-f]{96})")]
    private static partial Regex MeasurementLine();
}
