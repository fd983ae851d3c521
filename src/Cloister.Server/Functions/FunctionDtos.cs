using System.Text.Json;
using System.Text.Json.Serialization;
using Cloister.Protocol;

namespace Cloister.Server.Functions;

/// <summary>PUT /v1/functions/{name} body: the manifest object and the bundle as base64 of a tar.gz.</summary>
public sealed record DeployFunctionRequest(JsonElement? Manifest, string? Bundle);

/// <summary>A deployed (or unchanged) function version.</summary>
public sealed record FunctionDeployed(string Name, int Version, string Measurement, string Runtime, DateTimeOffset CreatedAt);

/// <summary>One function in GET /v1/functions.</summary>
public sealed record FunctionListItem(string Name, int LatestVersion, string Measurement, string Runtime, DateTimeOffset UpdatedAt);

/// <summary>GET /v1/functions response.</summary>
public sealed record FunctionList(IReadOnlyList<FunctionListItem> Functions);

/// <summary>One version in GET /v1/functions/{name}.</summary>
public sealed record FunctionVersionInfo(int Version, string Measurement, string Runtime, DateTimeOffset CreatedAt, JsonElement Manifest);

/// <summary>GET /v1/functions/{name} response.</summary>
public sealed record FunctionDetail(string Name, IReadOnlyList<FunctionVersionInfo> Versions);

/// <summary>POST /v1/functions/{name}/invoke body. Without a pin the latest version runs.</summary>
public sealed record InvokeFunctionBody(JsonElement? Args, int? Version, string? Measurement);

/// <summary>A synchronous invocation's success; <paramref name="Result"/> is JSON text, written as it is (never parsed into a document here).</summary>
public sealed record InvocationSucceeded(
    string InvocationId,
    string Status,
    [property: JsonConverter(typeof(RawJsonConverter))] string Result,
    string Function,
    int Version,
    string Measurement,
    long DurationMs,
    bool Warm,
    IReadOnlyList<string> Logs);

/// <summary>An accepted asynchronous invocation (202).</summary>
public sealed record InvocationAccepted(string InvocationId, string Status);

/// <summary>Why an invocation failed.</summary>
public sealed record InvocationErrorInfo(string Code, string Detail);

/// <summary>GET /v1/invocations/{id} response; <paramref name="Result"/> is JSON text, written as it is (never parsed into a document here).</summary>
public sealed record InvocationInfo(
    string InvocationId,
    string Function,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), JsonConverter(typeof(RawJsonConverter))] string? Result,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] InvocationErrorInfo? Error,
    int Version,
    string Measurement,
    long? DurationMs,
    bool Warm,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt);
