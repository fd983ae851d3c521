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

/// <summary>An invocation as stored: never its args; its result only as the output policy let it leave the enclave.</summary>
/// <param name="Id">The invocation id (<c>inv_…</c>).</param>
/// <param name="TenantId">The caller's tenant.</param>
/// <param name="FunctionName">The function invoked.</param>
/// <param name="Version">The version that runs.</param>
/// <param name="Measurement">That version's measurement.</param>
/// <param name="Status">Running, succeeded or failed.</param>
/// <param name="ResultJson">The result (JSON) when succeeded.</param>
/// <param name="ErrorCode">The stable error code when failed.</param>
/// <param name="ErrorDetail">The error's detail (never a value) when failed.</param>
/// <param name="Warm">Whether a warm sandbox served it.</param>
/// <param name="DurationMs">Milliseconds from start to completion, once completed.</param>
/// <param name="LogsJson">The handler's log lines as a JSON array of strings, once completed.</param>
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
    string? ResultJson,
    string? ErrorCode,
    string? ErrorDetail,
    bool Warm,
    long? DurationMs,
    string? LogsJson,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt,
    DateTimeOffset ExpiresAt);

/// <summary>How an invocation ended: exactly one of <paramref name="ResultJson"/> and <paramref name="ErrorCode"/> is set.</summary>
public sealed record InvocationCompletion(
    string? ResultJson,
    string? ErrorCode,
    string? ErrorDetail,
    bool Warm,
    long DurationMs,
    string LogsJson,
    DateTimeOffset CompletedAt)
{
    /// <summary>The status this completion sets.</summary>
    public InvocationStatus Status => ErrorCode is null ? InvocationStatus.Succeeded : InvocationStatus.Failed;
}
