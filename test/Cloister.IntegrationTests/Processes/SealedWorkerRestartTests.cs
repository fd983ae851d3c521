using Cloister.Attestation.Policy;
using Cloister.Client;
using Cloister.IntegrationTests.Sealed;
using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// A real serve whose worker is killed: the restarted worker has a new HPKE key and no sessions, and a client that
/// reuses the old attestation and session has its box refused, attests the new worker and sends once more, without
/// the caller noticing.
/// </summary>
public sealed class SealedWorkerRestartTests
{
    private static readonly TimeSpan RestartTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task AClientReusingTheOldWorkersAttestation_AttestsTheRestartedWorker_AndCarriesOn()
    {
        using var data = TempDirectory.Create("sealed-restart");
        await using var server = await ServerProcess.StartAsync(data.Path);
        Assert.True(AttestationPolicyFile.TryLoad(Path.Combine(data.Path, "attestation-policy.json"), out var policy, out var error), error);
        var handler = new RewritingHandler { InnerHandler = new SocketsHttpHandler() };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) };
        var client = new CloisterClient(http, ServeChildren.TenantKey(data.Path));
        var oldKey = (await client.AttestAsync(policy)).PublicKey;
        var token = (await client.CreateSealedTokenAsync("sealed-before-restart", policy)).Token;
        _ = await client.CreateSealedTokenAsync("sealed-in-the-session", policy);

        var oldWorker = ServeChildren.WorkerPid(server);
        System.Diagnostics.Process.GetProcessById(oldWorker).Kill();
        await ServeChildren.WaitForNewPidAsync(server, ServeChildren.WorkerPid, oldWorker, RestartTimeout);
        using (var plain = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) })
        {
            // Wait until the new worker serves (it attests to the broker and loads keys on first use).
            Assert.Equal("sealed-before-restart", await ServeChildren.RevealEventuallyAsync(plain, ServeChildren.TenantKey(data.Path), token, RestartTimeout));
        }

        var attestationsBefore = handler.Attestations;
        Assert.Equal("sealed-before-restart", await client.RevealSealedAsync(token, policy));

        Assert.Equal(attestationsBefore + 1, handler.Attestations);
        var newKey = (await client.AttestAsync(policy)).PublicKey;
        Assert.NotEqual(Convert.ToHexString(oldKey), Convert.ToHexString(newKey));
        Assert.Equal(
            ["/v1/sealed/reveal", "/v1/attestation", "/v1/sealed/reveal"],
            handler.Paths.Skip(handler.Paths.Count - 4).Take(3).Select(p => p.TrimEnd('/')));
    }
}
