using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Api.Contracts;

/// <summary>The states of an invocation as the API names them.</summary>
public static class InvocationStates
{
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
}

/// <summary>Names an invocation state: documents the property's values.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class InvocationStateAttribute(params string[] states) : AllowedValuesAttribute(states);

/// <summary>PUT /v1/functions/{name} body: the manifest object and the bundle as base64 of a tar.gz.</summary>
/// <param name="Manifest">The manifest object (docs/functions.md): runtime, entrypoint, limits, permissions.</param>
/// <param name="Bundle">The code, base64 of a tar.gz.</param>
public sealed record DeployFunctionRequest(JsonElement Manifest, string Bundle);

/// <summary>A deployed function version (201 for a new version, 200 when the latest already had this measurement).</summary>
/// <param name="Name">The function.</param>
/// <param name="Version">The version, from 1.</param>
/// <param name="Measurement">SHA-384 (hex) over the canonical bundle and manifest.</param>
/// <param name="Runtime">The manifest's runtime.</param>
/// <param name="CreatedAt">When the version was deployed.</param>
public sealed record FunctionDeployed(string Name, int Version, string Measurement, string Runtime, DateTimeOffset CreatedAt);

/// <summary>One function in GET /v1/functions.</summary>
public sealed record FunctionListItem(string Name, int LatestVersion, string Measurement, string Runtime, DateTimeOffset UpdatedAt);

/// <summary>GET /v1/functions response.</summary>
public sealed record FunctionList(IReadOnlyList<FunctionListItem> Functions);

/// <summary>One version in GET /v1/functions/{name}.</summary>
/// <param name="Version">The version.</param>
/// <param name="Measurement">Its measurement.</param>
/// <param name="Runtime">Its runtime.</param>
/// <param name="CreatedAt">When it was deployed.</param>
/// <param name="Manifest">Its canonical manifest object.</param>
public sealed record FunctionVersionInfo(int Version, string Measurement, string Runtime, DateTimeOffset CreatedAt, JsonElement Manifest);

/// <summary>GET /v1/functions/{name} response.</summary>
public sealed record FunctionDetail(string Name, IReadOnlyList<FunctionVersionInfo> Versions);

/// <summary>POST /v1/functions/{name}/invoke body. Without a pin the latest version runs.</summary>
/// <param name="Args">The arguments object the handler gets; <c>{}</c> when absent. <c>{"$token": "tok_…"}</c> members are revealed in the worker where the manifest allows.</param>
/// <param name="Version">Run this version (409 when there is none).</param>
/// <param name="Measurement">Run the latest version only if it has this measurement (409 otherwise).</param>
public sealed record InvokeFunctionBody(JsonElement? Args = null, int? Version = null, string? Measurement = null);

/// <summary>A synchronous invocation's success.</summary>
/// <param name="InvocationId">The invocation's id (GET /v1/invocations/{id} answers for it while it is kept).</param>
/// <param name="Status">Always <c>succeeded</c>.</param>
/// <param name="Result">The handler's result: any JSON value (the router writes the JSON text it has, never parsing it).</param>
/// <param name="Function">The function.</param>
/// <param name="Version">The version that ran.</param>
/// <param name="Measurement">The measurement that ran.</param>
/// <param name="DurationMs">How long it ran, in milliseconds.</param>
/// <param name="Warm">Whether a warm sandbox served it.</param>
/// <param name="Logs">The handler's log lines.</param>
public sealed record InvocationSucceeded(
    string InvocationId,
    [property: InvocationState(InvocationStates.Succeeded)] string Status,
    [property: JsonConverter(typeof(RawJsonConverter))] string Result,
    string Function,
    int Version,
    string Measurement,
    long DurationMs,
    bool Warm,
    IReadOnlyList<string> Logs);

/// <summary>An accepted asynchronous invocation (202); poll GET /v1/invocations/{id}.</summary>
/// <param name="InvocationId">The invocation's id.</param>
/// <param name="Status">Always <c>running</c>.</param>
public sealed record InvocationAccepted(string InvocationId, [property: InvocationState(InvocationStates.Running)] string Status);

/// <summary>Why an invocation failed.</summary>
/// <param name="Code">The error code (docs/api.md, "Invocation errors").</param>
/// <param name="Detail">What happened, never a value.</param>
public sealed record InvocationErrorInfo(string Code, string Detail);

/// <summary>GET /v1/invocations/{id} response.</summary>
/// <param name="InvocationId">The invocation's id.</param>
/// <param name="Function">The function.</param>
/// <param name="Status">Where it is.</param>
/// <param name="Version">The version that runs or ran.</param>
/// <param name="Measurement">The measurement that runs or ran.</param>
/// <param name="DurationMs">How long it ran, once it ended.</param>
/// <param name="Warm">Whether a warm sandbox served it.</param>
/// <param name="CreatedAt">When it started.</param>
/// <param name="CompletedAt">When it ended; null while it runs.</param>
public sealed record InvocationInfo(
    string InvocationId,
    string Function,
    [property: InvocationState(InvocationStates.Running, InvocationStates.Succeeded, InvocationStates.Failed)] string Status,
    int Version,
    string Measurement,
    long? DurationMs,
    bool Warm,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt)
{
    /// <summary>The result, once it succeeded: any JSON value (a sealed invocation's is <see cref="SealedInvocationOutput"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonConverter(typeof(RawJsonConverter))]
    public string? Result { get; init; }

    /// <summary>Why it failed, once it failed.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public InvocationErrorInfo? Error { get; init; }
}
