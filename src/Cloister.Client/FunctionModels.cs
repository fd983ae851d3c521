using System.Text.Json;

namespace Cloister.Client;

/// <summary>PUT /v1/functions/{name} body: the manifest object and the bundle, base64 of a tar.gz.</summary>
public sealed record DeployFunctionBody(JsonElement Manifest, string Bundle);

/// <summary>A deployed function version (201 for a new version, 200 when the latest already had this measurement).</summary>
public sealed record FunctionDeployed(string Name, int Version, string Measurement, string Runtime, DateTimeOffset CreatedAt);

/// <summary>One function of a listing.</summary>
public sealed record FunctionListItem(string Name, int LatestVersion, string Measurement, string Runtime, DateTimeOffset UpdatedAt);

/// <summary>GET /v1/functions response.</summary>
public sealed record FunctionList(IReadOnlyList<FunctionListItem> Functions);

/// <summary>One version of a function.</summary>
public sealed record FunctionVersionInfo(int Version, string Measurement, string Runtime, DateTimeOffset CreatedAt, JsonElement Manifest);

/// <summary>GET /v1/functions/{name} response.</summary>
public sealed record FunctionDetail(string Name, IReadOnlyList<FunctionVersionInfo> Versions);

/// <summary>What runs: without a pin the latest version; a version, or a measurement the latest version must still have.</summary>
public sealed record InvokePin(int? Version = null, string? Measurement = null);

/// <summary>POST /v1/functions/{name}/invoke body.</summary>
public sealed record InvokeFunctionBody(JsonElement Args, int? Version, string? Measurement);

/// <summary>A successful synchronous invocation.</summary>
public sealed record InvocationResult(
    string InvocationId,
    string Status,
    JsonElement Result,
    string Function,
    int Version,
    string Measurement,
    long DurationMs,
    bool Warm,
    IReadOnlyList<string> Logs);

/// <summary>An accepted asynchronous invocation.</summary>
public sealed record InvocationAccepted(string InvocationId, string Status);

/// <summary>Why an invocation failed.</summary>
public sealed record InvocationErrorInfo(string Code, string Detail);

/// <summary>GET /v1/invocations/{id} response.</summary>
public sealed record InvocationInfo(
    string InvocationId,
    string Function,
    string Status,
    JsonElement? Result,
    InvocationErrorInfo? Error,
    int Version,
    string Measurement,
    long? DurationMs,
    bool Warm,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt);
