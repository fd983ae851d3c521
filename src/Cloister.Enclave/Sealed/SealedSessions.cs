using Cloister.Crypto.Hpke;

namespace Cloister.Enclave.Sealed;

/// <summary>
/// The sealing sessions this worker derived from the HPKE requests it opened (<see cref="SealedSession"/>), so that a
/// client's later requests need no key agreement, kept per tenant: a session is found only for the tenant whose request
/// started it. A forgotten session costs the client one fallback to HPKE.
/// </summary>
/// <remarks>
/// <para>Bounded like every other per-tenant resource of the worker, so that one tenant's burst of HPKE requests cannot
/// push out another's sessions: a tenant keeps at most <see cref="PerTenantCapacity"/> sessions (its own oldest are
/// forgotten first), the worker at most <see cref="Capacity"/> in all, none older than <see cref="Lifetime"/>. When the
/// worker is full, the session forgotten is the oldest of the tenant holding the most (the adding tenant's own on a
/// tie): so up to <c>Capacity / PerTenantCapacity</c> = 16 tenants at their cap never touch each other's sessions, and
/// beyond that a tenant loses a session to another tenant only while it holds more than any other (at least its fair
/// share, <see cref="Capacity"/> divided by the number of tenants holding sessions). A session is about 300 bytes, so
/// the pool stays under 5 MiB.</para>
/// <para>Thread-safe (one lock: each call is a few dictionary operations, and a scan of the tenants only when the
/// worker is full).</para>
/// </remarks>
internal sealed class SealedSessions(TimeProvider time, int perTenantCapacity = SealedSessions.PerTenantCapacity, int capacity = SealedSessions.Capacity)
{
    /// <summary>Sessions one tenant keeps at most.</summary>
    public const int PerTenantCapacity = 1_024;

    /// <summary>Sessions the worker keeps at most, all tenants together.</summary>
    public const int Capacity = 16_384;

    /// <summary>How long a session is honoured after the HPKE request that started it (longer than the SDK's attestation reuse).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, TenantSessions> _tenants = new(StringComparer.Ordinal);
    private int _count;

    /// <summary>Sessions kept now, all tenants together.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>Sessions <paramref name="tenantId"/> keeps now.</summary>
    public int CountOf(string tenantId)
    {
        lock (_lock)
        {
            return _tenants.TryGetValue(tenantId, out var sessions) ? sessions.Count : 0;
        }
    }

    /// <summary>Remembers <paramref name="session"/> (if any) for <paramref name="tenantId"/>, forgetting what the bounds say.</summary>
    /// <remarks>A session already known keeps its expiry: replaying the box that started it does not prolong it.</remarks>
    public void Add(string tenantId, SealedSession? session)
    {
        if (session is null)
        {
            return;
        }

        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (!_tenants.TryGetValue(tenantId, out var own))
            {
                own = new TenantSessions();
                _tenants.Add(tenantId, own);
            }

            if (!own.TryAdd(session, now + Lifetime))
            {
                return;
            }

            _count += 1 - own.DropExpired(now);
            if (own.Count > perTenantCapacity)
            {
                own.DropOldest();
                _count--;
            }

            if (_count > capacity)
            {
                var (victimId, victim) = Largest(tenantId, own);
                victim.DropOldest();
                _count--;
                if (victim.Count == 0)
                {
                    _tenants.Remove(victimId);
                }
            }
        }
    }

    /// <summary>The live session of <paramref name="tenantId"/> with id <paramref name="idHex"/>.</summary>
    /// <remarks>An expired session stays (unused) until the tenant's next session or the bounds push it out.</remarks>
    public SealedSession? Find(string tenantId, string idHex)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            return _tenants.TryGetValue(tenantId, out var sessions) ? sessions.Find(idHex, now) : null;
        }
    }

    /// <summary>Forgets every session of <paramref name="tenantId"/> (the tenant was deleted); returns how many.</summary>
    public int Forget(string tenantId)
    {
        lock (_lock)
        {
            if (!_tenants.Remove(tenantId, out var sessions))
            {
                return 0;
            }

            _count -= sessions.Count;
            return sessions.Count;
        }
    }

    // The tenant holding the most sessions; the adding tenant itself when it holds as many as the largest.
    private (string TenantId, TenantSessions Sessions) Largest(string adderId, TenantSessions adder)
    {
        var (largestId, largest) = (adderId, adder);
        foreach (var (tenantId, sessions) in _tenants)
        {
            if (sessions.Count > largest.Count)
            {
                (largestId, largest) = (tenantId, sessions);
            }
        }

        return (largestId, largest);
    }

    /// <summary>One tenant's sessions in the order they started (so also the order they expire).</summary>
    private sealed class TenantSessions
    {
        private readonly Dictionary<string, (SealedSession Session, DateTimeOffset Expires)> _byId = new(StringComparer.Ordinal);
        private readonly Queue<string> _order = new();

        public int Count => _byId.Count;

        public bool TryAdd(SealedSession session, DateTimeOffset expires)
        {
            if (!_byId.TryAdd(session.IdHex, (session, expires)))
            {
                return false;
            }

            _order.Enqueue(session.IdHex);
            return true;
        }

        public SealedSession? Find(string idHex, DateTimeOffset now)
            => _byId.TryGetValue(idHex, out var entry) && entry.Expires > now ? entry.Session : null;

        public int DropExpired(DateTimeOffset now)
        {
            var dropped = 0;
            while (_order.TryPeek(out var oldest) && _byId[oldest].Expires <= now)
            {
                DropOldest();
                dropped++;
            }

            return dropped;
        }

        public void DropOldest() => _byId.Remove(_order.Dequeue());
    }
}
