using Cloister.Protocol.Rings;
using Cloister.Protocol.Tests.Rings;

namespace Cloister.Protocol.Tests;

/// <summary><see cref="WorkerHealth.PingAsync"/> over a real ring: answered, silent, failed.</summary>
public sealed class WorkerHealthTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Ping_AnsweredByTheWorker_IsAnswered()
    {
        await using var pair = RingPair.Start(new HealthHandler());

        var ping = await WorkerHealth.PingAsync(pair.Transport, Patience, CancellationToken.None);

        Assert.True(ping.Answered, ping.Failure);
        Assert.True(ping.Answer!.Attested);
        Assert.Equal(1, pair.Transport.ResponsesReceived);
    }

    [Fact]
    public async Task Ping_NobodyReadsTheRing_TimesOut()
    {
        // A ring nobody serves: what a stopped (SIGSTOP) or deadlocked worker looks like from the router.
        await using var transport = RingFrameTransport.Create(RingPair.NewPath());

        var ping = await WorkerHealth.PingAsync(transport, TimeSpan.FromMilliseconds(200), CancellationToken.None).WaitAsync(Patience);

        Assert.False(ping.Answered);
        Assert.Equal("timeout", ping.Failure);
        Assert.Equal(0, transport.ResponsesReceived);
    }

    [Fact]
    public async Task Ping_TheRequestRingIsFull_StillReturnsAtTheTimeout()
    {
        // A full request ring blocks a sender's thread until the worker frees slots; the ping must not wait for that.
        await using var transport = RingFrameTransport.Create(RingPair.NewPath(), RingPair.Small);
        var fillers = Enumerable.Range(0, RingPair.Small.SlotCount + 4)
            .Select(_ => Task.Run(() => transport.SendAsync(new byte[1], CancellationToken.None).AsTask()))
            .ToArray();
        while (transport.RequestRingFullWaits == 0)
        {
            await Task.Delay(10);
        }

        var ping = await WorkerHealth.PingAsync(transport, TimeSpan.FromMilliseconds(200), CancellationToken.None).WaitAsync(Patience);

        Assert.Equal("timeout", ping.Failure);
        transport.Fail("test over");
        await Assert.ThrowsAnyAsync<TransportUnavailableException>(() => Task.WhenAll(fillers).WaitAsync(Patience));
    }

    [Fact]
    public async Task Ping_FailedTransport_IsUnavailable()
    {
        await using var transport = RingFrameTransport.Create(RingPair.NewPath());
        transport.Fail("the worker exited");

        var ping = await WorkerHealth.PingAsync(transport, Patience, CancellationToken.None);

        Assert.Equal("unavailable", ping.Failure);
    }

    [Fact]
    public async Task Ping_AnsweredWithSomethingElse_IsUnexpected()
    {
        await using var pair = RingPair.Start(new XorHandler());

        var ping = await WorkerHealth.PingAsync(pair.Transport, Patience, CancellationToken.None);

        Assert.Equal("unexpected-response", ping.Failure);
    }

    private sealed class HealthHandler : IFrameHandler
    {
        public ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
            => ValueTask.FromResult(Frames.Enclave.DecodeRequest(request.Span) is WorkerHealthRequest
                ? Frames.Enclave.Encode(new WorkerHealthResponse(Attested: true))
                : Frames.Enclave.Encode(new EnclaveErrorResponse(new EnclaveError(EnclaveErrorCodes.BadRequest, "not a ping"))));
    }
}
