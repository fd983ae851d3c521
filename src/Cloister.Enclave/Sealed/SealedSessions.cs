using System.Collections.Concurrent;
using Cloister.Crypto.Hpke;

namespace Cloister.Enclave.Sealed;

/// <summary>
/// The sealing sessions this worker derived from the HPKE requests it opened (<see cref="SealedSession"/>), so that a
/// client's later requests need no key agreement. Bounded: at most <see cref="Capacity"/> sessions, the oldest forgotten
/// first, and none older than <see cref="Lifetime"/>. A forgotten session costs the client one fallback to HPKE.
/// </summary>
internal sealed class SealedSessions(TimeProvider time)
{
    /// <summary>Sessions kept at most.</summary>
    public const int Capacity = 16_384;

    /// <summary>How long a session is honoured after the HPKE request that started it (longer than the SDK's attestation reuse).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    private readonly ConcurrentDictionary<string, (SealedSession Session, DateTimeOffset Expires)> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    /// <summary>Sessions kept now.</summary>
    public int Count => _sessions.Count;

    /// <summary>Remembers <paramref name="session"/> (if any), forgetting the oldest beyond <see cref="Capacity"/>.</summary>
    /// <remarks>A session already known keeps its expiry: replaying the box that started it does not prolong it.</remarks>
    public void Add(SealedSession? session)
    {
        if (session is null || !_sessions.TryAdd(session.IdHex, (session, time.GetUtcNow() + Lifetime)))
        {
            return;
        }

        _order.Enqueue(session.IdHex);
        while (_sessions.Count > Capacity && _order.TryDequeue(out var oldest))
        {
            _sessions.TryRemove(oldest, out _);
        }
    }

    /// <summary>The live session with id <paramref name="idHex"/>.</summary>
    /// <remarks>An expired session stays (unused) until it is the oldest and capacity pushes it out, so that the dictionary and the eviction order stay in step.</remarks>
    public SealedSession? Find(string idHex)
        => _sessions.TryGetValue(idHex, out var entry) && entry.Expires > time.GetUtcNow() ? entry.Session : null;
}
