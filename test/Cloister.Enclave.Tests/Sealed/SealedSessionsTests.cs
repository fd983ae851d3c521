using Cloister.Crypto.Hpke;
using Cloister.Enclave.Sealed;

namespace Cloister.Enclave.Tests.Sealed;

/// <summary>The worker's session memory is bounded in number and in time.</summary>
public sealed class SealedSessionsTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static SealedSession NewSession(HpkeKeyPair worker)
    {
        _ = SealedBox.Seal(worker.PublicKey, "tokenize", [], "v"u8, out var reply, out var session);
        reply.Dispose();
        return session;
    }

    [Fact]
    public void ASession_IsFound_UntilItsLifetimeEnds_AndAddingItAgainDoesNotProlongIt()
    {
        using var worker = HpkeKeyPair.Generate();
        var time = new ManualTime();
        var sessions = new SealedSessions(time);
        var session = NewSession(worker);
        sessions.Add(session);

        time.Now += SealedSessions.Lifetime - TimeSpan.FromSeconds(1);
        sessions.Add(session); // the router replaying the box that started it
        Assert.Same(session, sessions.Find(session.IdHex));
        time.Now += TimeSpan.FromSeconds(2);
        Assert.Null(sessions.Find(session.IdHex));
        sessions.Add(session);
        Assert.Null(sessions.Find(session.IdHex));
        Assert.Equal(1, sessions.Count);
    }

    [Fact]
    public void BeyondCapacity_TheOldestAreForgotten()
    {
        using var worker = HpkeKeyPair.Generate();
        var sessions = new SealedSessions(new ManualTime());
        var first = NewSession(worker);
        sessions.Add(first);
        var second = NewSession(worker);
        sessions.Add(second);
        for (var i = 0; i < SealedSessions.Capacity - 1; i++)
        {
            sessions.Add(NewSession(worker));
        }

        Assert.Equal(SealedSessions.Capacity, sessions.Count);
        Assert.Null(sessions.Find(first.IdHex));
        Assert.Same(second, sessions.Find(second.IdHex));
    }
}
