using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cloister.Api.Contracts;

namespace Cloister.Protocol;

/// <summary>What a client seals for a sealed reveal: the tokens to reveal (the values come back under the request's reply key).</summary>
/// <param name="Tokens">The tokens, in the order the router is given them.</param>
public sealed record SealedRevealPayload(IReadOnlyList<string> Tokens);

/// <summary>One revealed token inside a <see cref="SealedRevealResult"/>: a value or an error code.</summary>
public sealed record SealedRevealedValue(string Token, string? Value, string? Error);

/// <summary>What the worker seals under the request's reply key for a sealed reveal.</summary>
public sealed record SealedRevealResult(IReadOnlyList<SealedRevealedValue> Values);

/// <summary>What a client seals for a sealed invocation.</summary>
/// <param name="Function">The function's name.</param>
/// <param name="Measurement">The version's measurement the client verified (in the attestation claims) and pins.</param>
/// <param name="Args">The args, a JSON object (it may hold <c>{"$token": "…"}</c> references).</param>
public sealed record SealedInvokePayload(string Function, string Measurement, JsonElement Args);

/// <summary>An invocation's error inside a <see cref="SealedInvokeResult"/>.</summary>
public sealed record SealedInvokeError(string Code, string Detail);

/// <summary>What the worker seals under the request's reply key when a sealed invocation ends: exactly one of result and error, and the logs.</summary>
public sealed record SealedInvokeResult(JsonElement? Result, SealedInvokeError? Error, IReadOnlyList<string> Logs);

/// <summary>
/// The purposes (HPKE info <c>"cloister/" + purpose + "/v1"</c>) and associated data of every sealed box, and the
/// JSON of the sealed payloads: the one place the client and the worker take them from (docs/api.md, "Sealed requests").
/// </summary>
public static class SealedPayloads
{
    /// <summary>A value to tokenize, sealed to the worker (plaintext: the value's UTF-8 bytes).</summary>
    public const string TokenizePurpose = "tokenize";

    /// <summary>A <see cref="SealedRevealPayload"/>, sealed to the worker (no associated data).</summary>
    public const string RevealPurpose = "reveal";

    /// <summary>A <see cref="SealedInvokePayload"/>, sealed to the worker (no associated data).</summary>
    public const string InvokePurpose = "invoke";

    /// <summary>
    /// Associated data of a sealed value: the metadata the client chose, so that the router cannot change it.
    /// UTF-8 of <c>format=F\nalphabet=A\nclassifier=C\ndeterministic=true|false</c> (A empty when there is none).
    /// </summary>
    public static byte[] TokenizeAad(string format, string? alphabet, string classifier, bool deterministic)
        => Encoding.UTF8.GetBytes($"format={format}\nalphabet={alphabet}\nclassifier={classifier}\ndeterministic={(deterministic ? "true" : "false")}");

    /// <summary>Associated data of a sealed reveal's reply: UTF-8 of the tokens joined by <c>\n</c>.</summary>
    public static byte[] TokensAad(IEnumerable<string> tokens) => Encoding.UTF8.GetBytes(string.Join('\n', tokens));

    /// <summary>Associated data of a sealed invocation's reply: UTF-8 of the pinned measurement.</summary>
    public static byte[] InvokeResultAad(string measurement) => Encoding.UTF8.GetBytes(measurement);

    /// <summary>Encode a reveal payload.</summary>
    public static byte[] Encode(SealedRevealPayload payload) => FrameJson.Encode(payload, SealedJsonContext.Default.SealedRevealPayload);

    /// <summary>Encode a reveal result.</summary>
    public static byte[] Encode(SealedRevealResult result) => FrameJson.Encode(result, SealedJsonContext.Default.SealedRevealResult);

    /// <summary>Encode an invoke payload.</summary>
    public static byte[] Encode(SealedInvokePayload payload) => FrameJson.Encode(payload, SealedJsonContext.Default.SealedInvokePayload);

    /// <summary>Encode an invoke result.</summary>
    public static byte[] Encode(SealedInvokeResult result) => FrameJson.Encode(result, SealedJsonContext.Default.SealedInvokeResult);

    /// <summary>
    /// Encode an invoke result whose result is JSON text already (the worker's output policy wrote it): the JSON of
    /// <see cref="Encode(SealedInvokeResult)"/>, with the result written as it is rather than parsed into a document again
    /// (a result may be 64 MiB of tiny elements).
    /// </summary>
    /// <exception cref="JsonException"><paramref name="resultJson"/> is not one JSON value.</exception>
    public static byte[] EncodeInvokeResult(string? resultJson, SealedInvokeError? error, IReadOnlyList<string> logs)
        => FrameJson.Encode(new RawSealedInvokeResult(resultJson, error, logs), SealedJsonContext.Default.RawSealedInvokeResult);

    /// <summary>Decode a reveal payload; null if malformed.</summary>
    public static SealedRevealPayload? DecodeRevealPayload(ReadOnlySpan<byte> json)
        => FrameJson.Decode(json, SealedJsonContext.Default.SealedRevealPayload) is { Tokens: not null } p && p.Tokens.All(t => t is not null) ? p : null;

    /// <summary>Decode a reveal result; null if malformed.</summary>
    public static SealedRevealResult? DecodeRevealResult(ReadOnlySpan<byte> json)
        => FrameJson.Decode(json, SealedJsonContext.Default.SealedRevealResult) is { Values: not null } r && r.Values.All(v => v?.Token is not null) ? r : null;

    /// <summary>Decode an invoke payload; null if malformed.</summary>
    public static SealedInvokePayload? DecodeInvokePayload(ReadOnlySpan<byte> json)
        => FrameJson.Decode(json, SealedJsonContext.Default.SealedInvokePayload) is { Function: not null, Measurement: not null } p
            && p.Args.ValueKind == JsonValueKind.Object ? p : null;

    /// <summary>Decode an invoke result; null if malformed.</summary>
    /// <remarks>
    /// A result of JSON <c>null</c> (a handler returning None) reads as a null <see cref="JsonElement"/>? like an absent one,
    /// so a payload without an error is a result, <c>null</c> when it has none.
    /// </remarks>
    public static SealedInvokeResult? DecodeInvokeResult(ReadOnlySpan<byte> json)
        => FrameJson.Decode(json, SealedJsonContext.Default.SealedInvokeResult) switch
        {
            { Logs: null } => null,
            { Result: not null, Error: not null } => null,
            { Result: null, Error: null } r => r with { Result = JsonNull },
            var r => r,
        };

    private static readonly JsonElement JsonNull = JsonDocument.Parse("null").RootElement.Clone();
}

/// <summary>A <see cref="SealedInvokeResult"/> as it is written from a result that is JSON text: the same members, the same JSON.</summary>
internal sealed record RawSealedInvokeResult([property: JsonConverter(typeof(RawJsonConverter))] string? Result, SealedInvokeError? Error, IReadOnlyList<string> Logs);

// Unknown members are refused: a payload of the earlier format (with a "responseKey" its client would wait on) must
// fail to open before anything runs, not run and answer in a format that client cannot open.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(SealedRevealPayload))]
[JsonSerializable(typeof(SealedRevealResult))]
[JsonSerializable(typeof(SealedInvokePayload))]
[JsonSerializable(typeof(SealedInvokeResult))]
[JsonSerializable(typeof(RawSealedInvokeResult))]
internal sealed partial class SealedJsonContext : JsonSerializerContext;
