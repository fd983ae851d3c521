namespace Cloister.KeyBroker;

/// <summary>
/// A bounded map of entries that expire: when full, adding evicts the oldest entry. Used for the outstanding
/// nonces and the attested sessions, so a flood of challenges or attestations costs bounded memory (the
/// flood's victims re-attest; nothing is released without a live entry). Thread-safe.
/// </summary>
internal sealed class ExpiringMap<TValue>(int capacity, TimeProvider time)
{
    private readonly OrderedDictionary<string, (TValue Value, DateTimeOffset ExpiresAt)> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void Add(string key, TValue value, DateTimeOffset expiresAt)
    {
        lock (_lock)
        {
            // Entries are added in time order with one lifetime, so the expired ones are at the front.
            var now = time.GetUtcNow();
            while (_entries.Count > 0 && (_entries.Count >= capacity || _entries.GetAt(0).Value.ExpiresAt <= now))
            {
                _entries.RemoveAt(0);
            }

            _entries[key] = (value, expiresAt);
        }
    }

    /// <summary>The live entry for <paramref name="key"/>; <paramref name="remove"/> consumes it (single use).</summary>
    public Lookup Find(string key, bool remove, out TValue? value)
    {
        value = default;
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                return Lookup.Unknown;
            }

            var expired = entry.ExpiresAt <= time.GetUtcNow();
            if (remove || expired)
            {
                _entries.Remove(key);
            }

            if (expired)
            {
                return Lookup.Expired;
            }

            value = entry.Value;
            return Lookup.Live;
        }
    }

    public enum Lookup
    {
        Live,
        Unknown,
        Expired,
    }
}
