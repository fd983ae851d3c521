using System.Globalization;
using Cloister.Crypto;
using Cloister.Server.Auth;
using Cloister.Server.Http;
using Cloister.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Tokens;

/// <summary>
/// Audits lookups of tokens that are not the caller's (unknown, expired, or another tenant's) without letting a prober
/// flood the log: per API key, failures are counted in memory and written as one <c>token.lookup.failed</c> entry per
/// key per <see cref="ServerOptions.FailedLookupAuditInterval"/>, and once more when the router stops.
/// </summary>
/// <remarks>
/// <para>
/// The entry goes to the caller's own tenant (actor: its key id) and is made from the request alone: it never depends
/// on whether, or in which tenant, the token exists, exactly like the 404 the caller got. It names the count per
/// operation, the period, and up to <see cref="SampleSize"/> distinct ids the caller sent that are shaped like random
/// tokens (<c>tok_</c> + 22 base58 characters: random, they say nothing about any value). Other strings are counted but
/// never written: a pan, numeric, ssn-last4 or fpe token looks like a value, and a caller may paste a value where a
/// token belongs.
/// </para>
/// <para>
/// What a kill -9 loses: the counts of the current interval (the failed requests returned nothing). At most
/// <see cref="MaxKeys"/> keys are tallied at once; beyond that the tallies are written at once.
/// </para>
/// </remarks>
internal sealed class FailedLookupAudit(IAuditStore store, TimeProvider time, IOptions<ServerOptions> options, ILogger<FailedLookupAudit> log) : BackgroundService
{
    public const string Action = "token.lookup.failed";

    /// <summary>The operations counted, in the order the entry's detail lists them.</summary>
    public static readonly IReadOnlyList<string> Operations = ["get", "reveal", "delete", "sealed-reveal"];

    private const int SampleSize = 10;
    private const int MaxKeys = 10_000;

    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private Dictionary<string, Tally> _tallies = new(StringComparer.Ordinal);

    /// <summary>404 token-not-found, counted for the aggregated audit entry of failed lookups (the same for every reason).</summary>
    public ProblemHttpResult NotFound(Caller caller, string operation, string token, int? index = null)
    {
        Record(caller, operation, token);
        return Problems.TokenNotFound(index);
    }

    /// <summary>Counts one lookup that answered 404 token-not-found.</summary>
    public void Record(Caller caller, string operation, string token)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var operationIndex = IndexOf(operation);
        bool full;
        lock (_gate)
        {
            if (!_tallies.TryGetValue(caller.KeyId, out var tally))
            {
                tally = new Tally(caller.Tenant, time.GetUtcNow());
                _tallies[caller.KeyId] = tally;
            }

            tally.Add(operationIndex, token, time.GetUtcNow());
            full = _tallies.Count >= MaxKeys;
        }

        if (full)
        {
            _ = FlushAsync(CancellationToken.None);
        }
    }

    /// <summary>Writes one entry per key with failures since the last flush.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken);
        try
        {
            Dictionary<string, Tally> taken;
            lock (_gate)
            {
                if (_tallies.Count == 0)
                {
                    return;
                }

                taken = _tallies;
                _tallies = new Dictionary<string, Tally>(StringComparer.Ordinal);
            }

            foreach (var (keyId, tally) in taken)
            {
                try
                {
                    await store.AppendAuditAsync(new AuditEntry(tally.TenantId, keyId, Action, [.. tally.Sample], tally.Describe()), cancellationToken);
                }
                catch (Exception e) when (e is VaultStoreException or ObjectDisposedException)
                {
                    LogMessages.FailedLookupsNotAudited(log, tally.Total, e.GetType().Name);
                }
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(CancellationToken.None);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FailedLookupAuditInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: StopAsync writes what is left.
        }
    }

    private static int IndexOf(string operation)
    {
        for (var i = 0; i < Operations.Count; i++)
        {
            if (Operations[i] == operation)
            {
                return i;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(operation), operation, "Not a counted operation.");
    }

    /// <summary>Whether <paramref name="token"/> is shaped like a random-format token (and so carries nothing about a value).</summary>
    private static bool IsRandomTokenShaped(string token)
        => token.Length == 26 && token.StartsWith("tok_", StringComparison.Ordinal) && Base58.IsBase58(token.AsSpan(4));

    private sealed class Tally(string tenantId, DateTimeOffset first)
    {
        private readonly long[] _counts = new long[Operations.Count];
        private readonly DateTimeOffset _first = first;
        private long _unlisted;
        private DateTimeOffset _last = first;

        public string TenantId { get; } = tenantId;

        public List<string> Sample { get; } = [];

        public long Total => _counts.Sum();

        public void Add(int operation, string token, DateTimeOffset at)
        {
            _counts[operation]++;
            _last = at;
            if (!IsRandomTokenShaped(token))
            {
                _unlisted++;
            }
            else if (Sample.Count < SampleSize && !Sample.Contains(token, StringComparer.Ordinal))
            {
                Sample.Add(token);
            }
        }

        public string Describe()
        {
            var counts = string.Join(", ", Operations.Select((name, i) => $"{name} {_counts[i].ToString(CultureInfo.InvariantCulture)}"));
            return string.Create(
                CultureInfo.InvariantCulture,
                $"{Total} lookups of tokens not in this tenant ({counts}) from {_first:O} to {_last:O}; targets: up to {SampleSize} distinct random-format ids sent; ids of other shapes (not listed): {_unlisted}");
        }
    }
}
