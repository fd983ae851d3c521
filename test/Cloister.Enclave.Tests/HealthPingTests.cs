using System.Text;
using Cloister.Protocol;

namespace Cloister.Enclave.Tests;

/// <summary>The worker's health ping: no tenant, no keys, answered at once.</summary>
public sealed class HealthPingTests : IDisposable
{
    private readonly TestVault _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task Ping_WithoutATenant_IsAnswered_AndReportsTheAttestedIdentity()
    {
        var ping = await _vault.Client.PingAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.True(ping.Answered, ping.Failure);
        Assert.Null(ping.Failure);
        Assert.True(ping.Answer!.Attested);
    }

    [Fact]
    public async Task Ping_OfAnEnclaveWithoutIdentity_ReportsNotAttested()
    {
        using var enclave = new EnclaveHost(_vault.BrokerTransport);

        var ping = await WorkerHealth.PingAsync(new InProcessTransport(enclave), TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.False(Assert.IsType<WorkerHealthResponse>(ping.Answer).Attested);
    }

    [Fact]
    public async Task PingFrame_IsAHealthOp_AndNeedsNoTenant()
    {
        var frame = Encoding.UTF8.GetString(Frames.Enclave.Encode(new WorkerHealthRequest()));
        Assert.Contains("\"$op\":\"health\"", frame, StringComparison.Ordinal);

        // A frame written by hand (no tenant at all) is a ping too.
        var response = Frames.Enclave.DecodeResponse(await _vault.EnclaveTransport.SendAsync("{\"$op\":\"health\"}"u8.ToArray(), CancellationToken.None));

        Assert.IsType<WorkerHealthResponse>(response);
    }
}
