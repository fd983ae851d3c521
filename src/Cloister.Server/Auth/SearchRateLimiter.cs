using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Auth;

/// <summary>
/// A token bucket per API key for search, the route that answers "does this value have a token?": it holds
/// <see cref="ServerOptions.SearchRequestsPerMinute"/> tokens and refills at that rate, so a key may burst up to a minute's
/// allowance and then search once every 60/N seconds. Time is the injected clock's monotonic timestamp.
/// </summary>
/// <remarks>
/// Per key, in this router's memory: several routers sharing a store, or several keys of one tenant, each have their own
/// allowance (keys are minted by the admin only). A restart refills every bucket.
/// </remarks>
internal sealed class SearchRateLimiter(IOptions<ServerOptions> options, TimeProvider time)
{
    // Buckets are dropped once full again (an idle key's bucket carries no state) when the table grows past this.
    private const int PruneAbove = 10_000;

    private readonly double _capacity = options.Value.SearchRequestsPerMinute;
    private readonly double _perSecond = options.Value.SearchRequestsPerMinute / 60.0;
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes one search from the key's allowance; false with how long until one is available otherwise.</summary>
    public bool TryAcquire(string keyId, out TimeSpan retryAfter)
    {
        var now = time.GetTimestamp();
        if (_buckets.Count > PruneAbove)
        {
            Prune(now);
        }

        var bucket = _buckets.GetOrAdd(keyId, static (_, state) => new Bucket(state.Capacity, state.Now), (Capacity: _capacity, Now: now));
        lock (bucket)
        {
            bucket.Tokens = Math.Min(_capacity, bucket.Tokens + (time.GetElapsedTime(bucket.At, now).TotalSeconds * _perSecond));
            bucket.At = now;
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = TimeSpan.FromSeconds((1 - bucket.Tokens) / _perSecond);
            return false;
        }
    }

    private void Prune(long now)
    {
        foreach (var (key, bucket) in _buckets)
        {
            lock (bucket)
            {
                if (bucket.Tokens + (time.GetElapsedTime(bucket.At, now).TotalSeconds * _perSecond) >= _capacity)
                {
                    _buckets.TryRemove(key, out _);
                }
            }
        }
    }

    private sealed class Bucket(double tokens, long at)
    {
        public double Tokens { get; set; } = tokens;

        public long At { get; set; } = at;
    }
}
