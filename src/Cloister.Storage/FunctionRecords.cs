namespace Cloister.Storage;

/// <summary>One deployed, immutable version of a function (without its bundle, which is read separately).</summary>
/// <param name="TenantId">The owning tenant.</param>
/// <param name="Name">The function's name, unique per tenant.</param>
/// <param name="Version">1, 2, … in deploy order.</param>
/// <param name="Measurement">SHA-384 of the canonical manifest and bundle, 96 lower-case hex digits.</param>
/// <param name="Runtime">The manifest's runtime name (python3, node, native).</param>
/// <param name="ManifestJson">The canonical manifest JSON.</param>
/// <param name="CreatedAt">When this version was deployed.</param>
public sealed record FunctionVersionRecord(string TenantId, string Name, int Version, string Measurement, string Runtime, string ManifestJson, DateTimeOffset CreatedAt);

/// <summary>A function and its latest version, for listings.</summary>
public sealed record FunctionSummary(string Name, int LatestVersion, string Measurement, string Runtime, DateTimeOffset UpdatedAt);

/// <summary>What a deploy did: a new version, or the latest one unchanged because it had the same measurement.</summary>
public sealed record DeployOutcome(FunctionVersionRecord Version, bool Created);

/// <summary>Where an invocation stands.</summary>
public enum InvocationStatus
{
    /// <summary>Sent to the enclave; no outcome yet.</summary>
    Running,

    /// <summary>Finished with a result.</summary>
    Succeeded,

    /// <summary>Finished with an error code and detail.</summary>
    Failed,
}

/// <summary>
/// An invocation as stored: never its args, and nothing derived from a value in clear. How it ended is kept as the
/// worker encrypted it (<paramref name="Outcome"/>, which only the worker opens), as the client's sealed box
/// (<paramref name="SealedResult"/>, which only the client opens), or, when the router itself ended it, as an error code
/// and the router's own detail.
/// </summary>
/// <param name="Id">The invocation id (<c>inv_…</c>).</param>
/// <param name="TenantId">The caller's tenant.</param>
/// <param name="FunctionName">The function invoked.</param>
/// <param name="Version">The version that runs.</param>
/// <param name="Measurement">That version's measurement.</param>
/// <param name="Status">Running, succeeded or failed.</param>
/// <param name="ErrorCode">The stable error code when failed (a fixed string, never a value).</param>
/// <param name="ErrorDetail">The router's detail of an invocation the router ended (a fixed text); null when the worker ended it (its detail is in <paramref name="Outcome"/>).</param>
/// <param name="OutcomeKeyVersion">The data-key version <paramref name="Outcome"/> is encrypted under.</param>
/// <param name="Outcome">The worker's encryption of the result or error (an unsealed invocation the worker completed).</param>
/// <param name="SealedResult">A sealed invocation's outcome, sealed to the client.</param>
/// <param name="Warm">Whether a warm sandbox served it.</param>
/// <param name="DurationMs">Milliseconds from start to completion, once completed.</param>
/// <param name="CreatedAt">When it started.</param>
/// <param name="CompletedAt">When it finished, or null while running.</param>
/// <param name="ExpiresAt">When the row is purged.</param>
public sealed record InvocationRecord(
    string Id,
    string TenantId,
    string FunctionName,
    int Version,
    string Measurement,
    InvocationStatus Status,
    string? ErrorCode,
    string? ErrorDetail,
    int? OutcomeKeyVersion,
    byte[]? Outcome,
    byte[]? SealedResult,
    bool Warm,
    long? DurationMs,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt,
    DateTimeOffset ExpiresAt);

/// <summary>
/// How an invocation ended, as <see cref="InvocationRecord"/> keeps it: exactly one of <paramref name="Outcome"/> (with
/// its key version, and the error code when it failed), <paramref name="SealedResult"/> (no error code: the router
/// cannot tell), and an error code with the router's <paramref name="ErrorDetail"/>.
/// </summary>
public sealed record InvocationCompletion(
    string? ErrorCode,
    string? ErrorDetail,
    int? OutcomeKeyVersion,
    byte[]? Outcome,
    byte[]? SealedResult,
    bool Warm,
    long DurationMs,
    DateTimeOffset CompletedAt)
{
    /// <summary>The status this completion sets.</summary>
    public InvocationStatus Status => ErrorCode is null ? InvocationStatus.Succeeded : InvocationStatus.Failed;

    /// <summary>Whether the fields make one of the three shapes.</summary>
    public bool IsWellFormed => (Outcome, SealedResult) switch
    {
        ({ }, null) => OutcomeKeyVersion >= 1 && ErrorDetail is null,
        (null, { }) => ErrorCode is null && ErrorDetail is null && OutcomeKeyVersion is null,
        (null, null) => ErrorCode is not null && ErrorDetail is not null && OutcomeKeyVersion is null,
        _ => false,
    };
}
