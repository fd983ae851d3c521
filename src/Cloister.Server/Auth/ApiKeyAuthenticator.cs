using System.Collections.Concurrent;
using System.Security.Cryptography;
using Cloister.Storage;

namespace Cloister.Server.Auth;

/// <summary>
/// Resolves a bearer key to a <see cref="Caller"/>. Rows are cached briefly (the hot path would
/// otherwise pay a database read per request); revocation through this router evicts at once, and the
/// short lifetime bounds staleness when several routers share a store.
/// </summary>
internal sealed class ApiKeyAuthenticator(IApiKeyStore store, TimeProvider time)
{
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (ApiKeyRecord? Row, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    // Bumped by every eviction: a row read before a revocation committed must not be cached after it.
    private long _generation;

    public async ValueTask<Caller?> AuthenticateAsync(string presented, CancellationToken cancellationToken)
    {
        if (!ApiKeySecret.TryParse(presented, out var id, out var hash))
        {
            return null;
        }

        var now = time.GetUtcNow();
        if (!_cache.TryGetValue(id, out var entry) || entry.Until <= now)
        {
            var generation = Interlocked.Read(ref _generation);
            entry = (await store.GetApiKeyAsync(id, cancellationToken), now + CacheLifetime);
            if (_cache.Count > 100_000)
            {
                _cache.Clear();
            }

            if (Interlocked.Read(ref _generation) == generation)
            {
                _cache[id] = entry;
            }
        }

        var row = entry.Row;
        if (row is null || row.RevokedAt is not null || !CryptographicOperations.FixedTimeEquals(row.SecretHash, hash))
        {
            return null;
        }

        return new Caller(row.Id, row.TenantId, row.Scopes.ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>Call after a revocation has committed.</summary>
    public void Evict(string keyId)
    {
        Interlocked.Increment(ref _generation);
        _cache.TryRemove(keyId, out _);
    }
}
