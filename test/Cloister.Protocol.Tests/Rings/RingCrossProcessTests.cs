using System.Diagnostics;
using Cloister.Protocol.Rings;

namespace Cloister.Protocol.Tests.Rings;

public sealed class RingCrossProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TwoProcesses_ExchangeOneHundredThousandMessages_ThenPeerDeathFailsTheTransport()
    {
        await using var transport = RingFrameTransport.Create(RingPair.NewPath());
        using var worker = StartPeer(transport.Path);
        try
        {
            Assert.Equal("serving", await worker.StandardOutput.ReadLineAsync().WaitAsync(Patience));

            await Task.WhenAll(Enumerable.Range(0, 4).Select(caller => Task.Run(() => RingLoadTests.RunCallerAsync(transport, caller, 25_000))));

            // Killed without closing the ring: the router notices the process is gone by itself (no Fail call).
            worker.Kill();
            await worker.WaitForExitAsync();
            await Assert.ThrowsAsync<TransportUnavailableException>(() => SendUntilFailureAsync(transport).WaitAsync(Patience));
        }
        finally
        {
            if (!worker.HasExited)
            {
                worker.Kill();
            }
        }
    }

    [Fact]
    public async Task RouterDisposes_PeerProcessExitsCleanly()
    {
        var transport = RingFrameTransport.Create(RingPair.NewPath());
        using var worker = StartPeer(transport.Path);
        Assert.Equal("serving", await worker.StandardOutput.ReadLineAsync().WaitAsync(Patience));
        Assert.Equal(XorHandler.Transform([9]), await transport.SendAsync(new byte[] { 9 }, CancellationToken.None));

        await transport.DisposeAsync();

        await worker.WaitForExitAsync().WaitAsync(Patience);
        Assert.Equal(0, worker.ExitCode);
    }

    private static Process StartPeer(string ringPath)
    {
        string peer = Path.Combine(AppContext.BaseDirectory, "Cloister.RingPeer.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(peer);
        start.ArgumentList.Add(ringPath);
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the ring peer");
    }

    /// <summary>Sends until the transport fails: the worker's death is detected within the liveness poll.</summary>
    private static async Task SendUntilFailureAsync(RingFrameTransport transport)
    {
        while (true)
        {
            await transport.SendAsync(new byte[] { 1 }, CancellationToken.None);
        }
    }
}
