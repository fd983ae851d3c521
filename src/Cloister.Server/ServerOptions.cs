using Cloister.Hosting.Listeners;
using Cloister.Protocol;

namespace Cloister.Server;

/// <summary>Router settings. Defaults are the embedded single-node defaults.</summary>
public sealed record ServerOptions
{
    /// <summary>Where the database, key files and credentials live. Default <c>./.cloister</c>.</summary>
    public string DataDirectory { get; init; } = ".cloister";

    /// <summary>Addresses to listen on. Default <c>http://127.0.0.1:8080</c>.</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:8080"];

    /// <summary>PEM certificate for HTTPS (with <see cref="TlsKeyPath"/>).</summary>
    public string? TlsCertPath { get; init; }

    /// <summary>PEM private key for HTTPS.</summary>
    public string? TlsKeyPath { get; init; }

    /// <summary>Generate (once) and use a self-signed certificate kept in the data directory.</summary>
    public bool TlsSelfSigned { get; init; }

    /// <summary>Allow plain HTTP on a non-loopback address (logs a warning at every start).</summary>
    public bool InsecureHttp { get; init; }

    /// <summary>Largest value accepted, in UTF-8 bytes. Default (and most) <see cref="FrameLimits.MaxValueBytes"/>, 64 KiB.</summary>
    public int MaxValueBytes { get; init; } = FrameLimits.MaxValueBytes;

    /// <summary>Most items in one batch. Default (and most) <see cref="FrameLimits.MaxBatchItems"/>, 1,000.</summary>
    public int MaxBatchItems { get; init; } = FrameLimits.MaxBatchItems;

    /// <summary>
    /// How many requests to the enclave worker (token operations, key loads, attestation) one tenant may have waiting
    /// for the worker's request slots; more are refused with 429 and <c>Retry-After</c>. Default 256.
    /// </summary>
    public int MaxQueuedRequestsPerTenant { get; init; } = 256;

    /// <summary>
    /// The largest message between the router and the enclave worker (<see cref="FrameLimits.MaxFrameBytes"/>, 256 MiB,
    /// and at most that). Lower only to test what happens beyond it; token batches are split into parts of 1/32 of it.
    /// </summary>
    public int MaxFrameBytes { get; init; } = FrameLimits.MaxFrameBytes;

    /// <summary>
    /// How many requests to the enclave worker one tenant may have in the worker at once (of its 64 request slots); more
    /// wait their turn. Default 16: a tenant alone keeps two cores busy with far fewer.
    /// </summary>
    public int MaxRunningRequestsPerTenant { get; init; } = 16;

    /// <summary>
    /// A request is large when its body, or the invocation outcome it reads back, exceeds this many bytes (default 1 MiB):
    /// large requests take a slot of their own before their bytes are read or loaded, so that the memory they cost is bounded.
    /// </summary>
    public long LargeRequestBytes { get; init; } = 1024 * 1024;

    /// <summary>How many large requests are handled at once, all tenants together (default 4); more wait their turn.</summary>
    public int MaxLargeRequests { get; init; } = 4;

    /// <summary>How many large requests one tenant may have handled at once (default 2), and waiting beyond them (<see cref="MaxQueuedLargeRequestsPerTenant"/>; more get 429).</summary>
    public int MaxLargeRequestsPerTenant { get; init; } = 2;

    /// <summary>How many large requests one tenant may have waiting (default 8); more are refused with 429 before their body is read.</summary>
    public int MaxQueuedLargeRequestsPerTenant { get; init; } = 8;

    /// <summary>How many invocations run at once, all tenants together (the worker's invocation slots). Default 64.</summary>
    public int MaxRunningInvocations { get; init; } = FrameLanes.DefaultInvocationSlots;

    /// <summary>How many invocations one tenant may have running at once. Default 16.</summary>
    public int MaxRunningInvocationsPerTenant { get; init; } = 16;

    /// <summary>
    /// How many more invocations (sync or async) one tenant may have waiting to run; beyond running and waiting, an
    /// invocation is refused with 429 and <c>Retry-After</c>, and nothing is recorded. Default 64.
    /// </summary>
    public int MaxQueuedInvocationsPerTenant { get; init; } = 64;

    /// <summary>Tokens re-encrypted per enclave round trip by the rotation job. Default 500.</summary>
    public int ReencryptBatchSize { get; init; } = 500;

    /// <summary>How often expired tokens are purged. Default one minute.</summary>
    public TimeSpan PurgeInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long invocation records (status, result, error) are kept for GET /v1/invocations/{id}. Default 24 hours.</summary>
    public TimeSpan InvocationRetention { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Largest deploy request body (the bundle travels base64-encoded in JSON). Default 100 MiB.</summary>
    public long MaxDeployBodyBytes { get; init; } = 100L * 1024 * 1024;

    /// <summary>
    /// Searches one API key may make per minute (a token bucket holding a minute's worth: bursts up to this many, then
    /// one every 60/N seconds); beyond it 429 <c>rate-limited</c> with <c>Retry-After</c>. Default 60: guessing one of the
    /// ~100,000 candidates a <c>pan</c> mask leaves takes about 28 hours per key.
    /// </summary>
    public int SearchRequestsPerMinute { get; init; } = 60;

    /// <summary>
    /// How often the failed token lookups of each API key (unknown, expired or another tenant's tokens) are written to the
    /// audit log as one aggregated <c>token.lookup.failed</c> entry per key; also written when the router stops. Default one minute.
    /// </summary>
    public TimeSpan FailedLookupAuditInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>SQLite synchronous=FULL (survives power loss) instead of NORMAL (survives a process crash). Default false.</summary>
    public bool FullSync { get; init; }

    /// <summary>Fault injection for tests: called with the name of each first-start step once it is done; a throw stops the start there, as a crash would.</summary>
    internal Action<string>? BootstrapStepDone { get; init; }

    /// <summary>Checks the settings; returns the first problem as a one-line message.</summary>
    public string? Validate()
    {
        // The API's limits may only go down: the router <-> worker frame limit is derived from their maxima.
        if (MaxValueBytes is < 1 or > FrameLimits.MaxValueBytes)
        {
            return $"MaxValueBytes must be between 1 and {FrameLimits.MaxValueBytes}.";
        }

        if (MaxBatchItems is < 1 or > FrameLimits.MaxBatchItems)
        {
            return $"MaxBatchItems must be between 1 and {FrameLimits.MaxBatchItems}.";
        }

        if (MaxFrameBytes is < 64 * 1024 or > FrameLimits.MaxFrameBytes)
        {
            return $"MaxFrameBytes must be between 64 KiB and {FrameLimits.MaxFrameBytes}.";
        }

        if (MaxQueuedRequestsPerTenant is < 0 or > 100_000 || MaxQueuedInvocationsPerTenant is < 0 or > 100_000)
        {
            return "The per-tenant queue limits must be between 0 and 100,000.";
        }

        if (MaxRunningRequestsPerTenant is < 1 or > FrameLanes.DefaultRequestSlots)
        {
            return $"MaxRunningRequestsPerTenant must be between 1 and {FrameLanes.DefaultRequestSlots}.";
        }

        if (LargeRequestBytes < 64 * 1024 || MaxLargeRequests is < 1 or > 1024 || MaxLargeRequestsPerTenant < 1 || MaxLargeRequestsPerTenant > MaxLargeRequests || MaxQueuedLargeRequestsPerTenant is < 0 or > 10_000)
        {
            return "The large-request limits must be: LargeRequestBytes of 64 KiB or more, MaxLargeRequests 1 to 1,024, MaxLargeRequestsPerTenant 1 to it, MaxQueuedLargeRequestsPerTenant 0 to 10,000.";
        }

        if (MaxRunningInvocations is < 1 or > 4096 || MaxRunningInvocationsPerTenant < 1 || MaxRunningInvocationsPerTenant > MaxRunningInvocations)
        {
            return "MaxRunningInvocations must be between 1 and 4,096, and MaxRunningInvocationsPerTenant between 1 and it.";
        }

        if (SearchRequestsPerMinute is < 1 or > 1_000_000)
        {
            return "SearchRequestsPerMinute must be between 1 and 1,000,000.";
        }

        if (FailedLookupAuditInterval < TimeSpan.FromSeconds(1) || FailedLookupAuditInterval > TimeSpan.FromHours(1))
        {
            return "FailedLookupAuditInterval must be between 1 second and 1 hour.";
        }

        if (InvocationRetention < TimeSpan.FromMinutes(1) || InvocationRetention > TimeSpan.FromDays(366))
        {
            return "InvocationRetention must be between 1 minute and 366 days.";
        }

        if (MaxDeployBodyBytes is < 1024 or > 1024L * 1024 * 1024)
        {
            return "MaxDeployBodyBytes must be between 1 KiB and 1 GiB.";
        }

        if ((TlsCertPath is null) != (TlsKeyPath is null))
        {
            return "--tls-cert and --tls-key go together.";
        }

        if (TlsCertPath is not null && TlsSelfSigned)
        {
            return "Choose either --tls-cert/--tls-key or --tls-self-signed, not both.";
        }

        return Urls.Count == 0 ? "At least one URL is needed." : null;
    }

    /// <summary>Whether a TLS certificate is configured.</summary>
    public bool HasTls => TlsCertPath is not null || TlsSelfSigned;

    /// <summary>What the router's listener may serve (<see cref="ListenPlan"/>, the check every Cloister listener passes).</summary>
    internal ListenRules ListenRules => new(HasTls, InsecureHttp, "--tls-cert/--tls-key, --tls-self-signed");
}
