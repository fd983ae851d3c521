using System.Collections.Concurrent;
using Cloister.Protocol;
using Cloister.Storage;

namespace Cloister.Server.Tenants;

/// <summary>
/// Tenants by id, cached briefly (the current data-key version is read on every create). Rotation
/// through this router evicts at once; another router sharing the store may encrypt under the
/// previous version for a few seconds, which the re-encryption job then moves forward.
/// Also the router's <see cref="IWrappedKeySource"/>: the enclave asks for wrapped keys when it lacks them.
/// </summary>
internal sealed class TenantDirectory(ITenantStore store, TimeProvider time) : IWrappedKeySource
{
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (TenantRecord? Tenant, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    public async ValueTask<TenantRecord?> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(tenantId, out var entry) && entry.Until > now)
        {
            return entry.Tenant;
        }

        var tenant = await store.GetTenantAsync(tenantId, cancellationToken);
        if (_cache.Count > 100_000)
        {
            _cache.Clear();
        }

        _cache[tenantId] = (tenant, now + CacheLifetime);
        return tenant;
    }

    public void Evict(string tenantId) => _cache.TryRemove(tenantId, out _);

    public async Task<IReadOnlyList<WrappedKey>> GetWrappedKeysAsync(string tenantId, CancellationToken cancellationToken)
    {
        var rows = await store.GetWrappedKeysAsync(tenantId, cancellationToken);
        return rows.Select(r => new WrappedKey(r.Purpose, r.Version, r.Blob)).ToList();
    }
}
