using Cloister.Crypto.Hpke;
using Cloister.Enclave.Sealed;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Enclave.Tests.Sealed;

/// <summary>The worker's session memory is per tenant, and bounded in number (per tenant and in all) and in time.</summary>
public sealed class SealedSessionsTests
{
    private static SealedSession NewSession(HpkeKeyPair worker)
    {
        _ = SealedBox.Seal(worker.PublicKey, "tokenize", [], "v"u8, out var reply, out var session);
        reply.Dispose();
        return session;
    }

    private static List<SealedSession> AddMany(SealedSessions sessions, HpkeKeyPair worker, string tenantId, int count)
    {
        var added = new List<SealedSession>();
        for (var i = 0; i < count; i++)
        {
            var session = NewSession(worker);
            sessions.Add(tenantId, session);
            added.Add(session);
        }

        return added;
    }

    [Fact]
    public void ASession_IsFound_UntilItsLifetimeEnds_AndAddingItAgainDoesNotProlongIt()
    {
        using var worker = HpkeKeyPair.Generate();
        var time = new FakeTimeProvider();
        var sessions = new SealedSessions(time);
        var session = NewSession(worker);
        sessions.Add("t", session);

        time.Advance(SealedSessions.Lifetime - TimeSpan.FromSeconds(1));
        sessions.Add("t", session); // the router replaying the box that started it
        Assert.Same(session, sessions.Find("t", session.IdHex));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(sessions.Find("t", session.IdHex));
        sessions.Add("t", session);
        Assert.Null(sessions.Find("t", session.IdHex));
        Assert.Equal(1, sessions.Count);
    }

    [Fact]
    public void ASession_IsFoundOnlyForTheTenantWhoseRequestStartedIt()
    {
        using var worker = HpkeKeyPair.Generate();
        var sessions = new SealedSessions(new FakeTimeProvider());
        var session = NewSession(worker);
        sessions.Add("a", session);

        Assert.Same(session, sessions.Find("a", session.IdHex));
        Assert.Null(sessions.Find("b", session.IdHex));
    }

    [Fact]
    public void BeyondItsCapacity_ATenantForgetsItsOwnOldest_AndNoOneElses()
    {
        using var worker = HpkeKeyPair.Generate();
        var sessions = new SealedSessions(new FakeTimeProvider(), perTenantCapacity: 4, capacity: 16);
        var b = NewSession(worker);
        sessions.Add("b", b);

        var a = AddMany(sessions, worker, "a", 100);

        Assert.Same(b, sessions.Find("b", b.IdHex));
        Assert.Equal(4, sessions.CountOf("a"));
        Assert.Null(sessions.Find("a", a[95].IdHex));
        Assert.All(a[^4..], s => Assert.Same(s, sessions.Find("a", s.IdHex)));
        Assert.Equal(5, sessions.Count);
    }

    [Fact]
    public void WhenTheWorkerIsFull_TheTenantHoldingTheMostLosesItsOldest_NeverASmallerOne()
    {
        using var worker = HpkeKeyPair.Generate();
        var sessions = new SealedSessions(new FakeTimeProvider(), perTenantCapacity: 8, capacity: 12);
        var small = AddMany(sessions, worker, "small", 2);
        var large = AddMany(sessions, worker, "large", 8);
        AddMany(sessions, worker, "middle", 2);

        // Full (12). Each new session of "middle" pushes out the oldest of "large" until they hold as many; then its own.
        var middle = AddMany(sessions, worker, "middle", 5);

        Assert.Equal(12, sessions.Count);
        Assert.All(small, s => Assert.Same(s, sessions.Find("small", s.IdHex)));
        Assert.Equal(5, sessions.CountOf("large"));
        Assert.Null(sessions.Find("large", large[2].IdHex));
        Assert.Same(large[3], sessions.Find("large", large[3].IdHex));
        Assert.Equal(5, sessions.CountOf("middle"));
        Assert.Same(middle[^1], sessions.Find("middle", middle[^1].IdHex));
    }

    [Fact]
    public void Forget_DropsEveryOneOfTheTenantsSessions_AndOnlyThose()
    {
        using var worker = HpkeKeyPair.Generate();
        var sessions = new SealedSessions(new FakeTimeProvider());
        var gone = AddMany(sessions, worker, "deleted", 3);
        var kept = NewSession(worker);
        sessions.Add("kept", kept);

        Assert.Equal(3, sessions.Forget("deleted"));

        Assert.All(gone, s => Assert.Null(sessions.Find("deleted", s.IdHex)));
        Assert.Same(kept, sessions.Find("kept", kept.IdHex));
        Assert.Equal(1, sessions.Count);
        Assert.Equal(0, sessions.Forget("deleted"));
    }
}
