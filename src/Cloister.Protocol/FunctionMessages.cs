using System.Text.Json.Serialization;
using Cloister.Api.Contracts;

namespace Cloister.Protocol;

// Function invocation across the router <-> enclave boundary (docs/design/invocation.md, written with the enclave side).
//
// The enclave runs the sandbox and holds the keys but has no database: whenever an invocation needs
// the router's store (to look up the records of tokens it must reveal, or to store tokens it made),
// the enclave answers InvocationPendingResponse and the router continues the same invocation with
// ContinueInvocationRequest. The router drives this loop until InvocationCompletedResponse. Each
// message is a request in, a response out, so the exchange works unchanged over any transport.
//
//   router                                   enclave
//   InvokeFunctionRequest            ->
//                                    <-      FunctionRequiredResponse   (bundle not cached: resend with Package)
//                                    <-      KeysRequiredResponse       (tenant keys not loaded: resend with Keys)
//                                    <-      InvocationPendingResponse  (step 1: look up tokens / store tokens)
//   ContinueInvocationRequest(step 1) ->
//                                    <-      InvocationPendingResponse  (step 2) ...
//                                    <-      InvocationCompletedResponse  (an unsealed one with its outcome encrypted to keep)
//
//   OpenInvocationOutcomeRequest      ->                                 (a read of a kept outcome, any time later)
//                                    <-      InvocationOutcomeResponse

/// <summary>Which deployed function version runs.</summary>
/// <param name="Name">The function's name (unique per tenant).</param>
/// <param name="Version">Its version number (1, 2, …).</param>
/// <param name="Measurement">The version's measurement, 96 lower-case hex digits (docs/function-measurement.md).</param>
public sealed record FunctionRef(string Name, int Version, string Measurement);

/// <summary>
/// A function version's code: the manifest JSON as deployed and the bundle as a tar.gz. The enclave
/// recomputes the measurement and refuses a package that does not match <see cref="FunctionRef.Measurement"/>.
/// </summary>
public sealed record FunctionPackage(string ManifestJson, byte[] BundleTarGz);

/// <summary>
/// Run one invocation. The enclave caches packages by (tenant, measurement); when it lacks this one it
/// answers <see cref="FunctionRequiredResponse"/> and the router resends with <see cref="Package"/> set.
/// </summary>
/// <param name="InvocationId">The router's id for the invocation (unique; used in every later message).</param>
/// <param name="Function">What runs.</param>
/// <param name="ArgsJson">The caller's args, a JSON object; <c>{"$token": "…"}</c> objects inside are resolved by the enclave.</param>
/// <param name="CurrentKeyVersion">The tenant's current data-key version, used for tokens the invocation creates.</param>
/// <param name="Package">The code, attached only after <see cref="FunctionRequiredResponse"/>.</param>
/// <param name="SealedInput">
/// A sealed invocation: the client's <see cref="SealedInvokePayload"/> sealed to the worker (purpose
/// <see cref="SealedPayloads.InvokePurpose"/>). The worker takes the args from it (<paramref name="ArgsJson"/> is then
/// <c>{}</c>), refuses unless it pins <paramref name="Function"/>'s name and measurement, and seals the outcome.
/// </param>
public sealed record InvokeFunctionRequest(
    string InvocationId,
    FunctionRef Function,
    string ArgsJson,
    int CurrentKeyVersion,
    FunctionPackage? Package = null,
    byte[]? SealedInput = null) : EnclaveRequest;

/// <summary>The enclave does not hold the package of <paramref name="Measurement"/>; resend the invoke with it.</summary>
public sealed record FunctionRequiredResponse(string InvocationId, string Measurement) : EnclaveResponse;

/// <summary>A token record from the router's store, as the enclave needs it to decide on and perform a reveal.</summary>
public sealed record StoredTokenRecord(string Token, string Format, string? Alphabet, string Classifier, int KeyVersion, byte[]? Ciphertext);

/// <summary>A token the enclave created during an invocation, for the router to store (never deterministic).</summary>
public sealed record NewTokenRecord(
    string Token,
    string Format,
    string? Alphabet,
    string Classifier,
    int KeyVersion,
    byte[]? Ciphertext,
    byte[]? Fingerprint,
    string Mask);

/// <summary>
/// The invocation is waiting on the router's store. Exactly one of <paramref name="LookupTokens"/> and
/// <paramref name="StoreTokens"/> is set; answer with <see cref="ContinueInvocationRequest"/> carrying the same step.
/// </summary>
/// <param name="InvocationId">The invocation.</param>
/// <param name="Step">Increments with every pending response of the invocation, from 1.</param>
/// <param name="LookupTokens">Tokens whose records the enclave needs (the caller's tenant only).</param>
/// <param name="StoreTokens">New token records to insert.</param>
public sealed record InvocationPendingResponse(
    string InvocationId,
    int Step,
    IReadOnlyList<string>? LookupTokens,
    IReadOnlyList<NewTokenRecord>? StoreTokens) : EnclaveResponse;

/// <summary>The router's answer to one <see cref="InvocationPendingResponse"/>.</summary>
/// <param name="InvocationId">The invocation.</param>
/// <param name="Step">The step being answered.</param>
/// <param name="Found">
/// For a lookup: one entry per requested token, in order; null where the tenant has no such live token
/// (unknown, expired and another tenant's tokens look the same).
/// </param>
/// <param name="Stored">For a store: one entry per record, in order; false where the token was already taken.</param>
public sealed record ContinueInvocationRequest(
    string InvocationId,
    int Step,
    IReadOnlyList<StoredTokenRecord?>? Found = null,
    IReadOnlyList<bool>? Stored = null) : EnclaveRequest;

/// <summary>
/// The invocation ended. Exactly one of <paramref name="ResultJson"/>, <paramref name="Error"/> and
/// <paramref name="SealedResult"/> is set; a sealed invocation that ran carries only <paramref name="SealedResult"/>
/// (its result or error, and its logs, are inside; <paramref name="Logs"/> is empty). An unsealed invocation's
/// completion also carries <paramref name="Stored"/>: the outcome encrypted for the router to keep, because the router
/// keeps nothing derived from a value in clear (the clear result, error and logs are for the caller of a synchronous
/// invocation only).
/// </summary>
/// <param name="InvocationId">The invocation.</param>
/// <param name="ResultJson">The result after the output policy (tokenized fields), as JSON.</param>
/// <param name="Error">Why it failed: a stable code (see <see cref="FunctionErrorCodes"/>) and a detail without values.</param>
/// <param name="Warm">Whether a warm sandbox served it.</param>
/// <param name="Logs">The handler's <c>ctx.log</c> messages, in order (capped; revealed values redacted unless plaintext may leave).</param>
/// <param name="RevealedTokens">The tokens revealed into the sandbox (for the audit log).</param>
/// <param name="SealedResult">A <see cref="SealedInvokeResult"/> sealed under the request's reply key (sealed invocations).</param>
/// <param name="Stored">The outcome (result or error, without the logs) encrypted under the tenant's current data key (unsealed invocations).</param>
public sealed record InvocationCompletedResponse(
    string InvocationId,
    [property: JsonConverter(typeof(RawJsonConverter))] string? ResultJson,
    EnclaveError? Error,
    bool Warm,
    IReadOnlyList<string> Logs,
    IReadOnlyList<string> RevealedTokens,
    byte[]? SealedResult = null,
    StoredOutcome? Stored = null) : EnclaveResponse;

/// <summary>
/// An unsealed invocation's outcome as the router keeps it: a <see cref="SealedInvokeResult"/> (result or error, no
/// logs) encrypted by the worker with AES-256-GCM under the tenant's data key <paramref name="KeyVersion"/>, with
/// associated data binding the tenant, the invocation id and the key version. Only the worker opens it
/// (<see cref="OpenInvocationOutcomeRequest"/>).
/// </summary>
public sealed record StoredOutcome(int KeyVersion, byte[] Ciphertext);

/// <summary>Open a kept outcome of the tenant's invocation <paramref name="InvocationId"/> (GET /v1/invocations/{id}).</summary>
public sealed record OpenInvocationOutcomeRequest(string InvocationId, StoredOutcome Outcome) : EnclaveRequest;

/// <summary>
/// The opened outcome: exactly one of <paramref name="ResultJson"/> and <paramref name="Error"/>. An outcome that does not
/// open for this tenant, invocation and key version is an <see cref="EnclaveErrorResponse"/> with <c>decrypt-failed</c>.
/// </summary>
public sealed record InvocationOutcomeResponse([property: JsonConverter(typeof(RawJsonConverter))] string? ResultJson, EnclaveError? Error) : EnclaveResponse;

/// <summary>Shut down every sandbox of the function's versions and forget its packages (it was deleted).</summary>
public sealed record RetireFunctionRequest(string Name, IReadOnlyList<string> Measurements) : EnclaveRequest;

/// <summary>The function's sandboxes are gone.</summary>
public sealed record RetireFunctionResponse : EnclaveResponse;

/// <summary>Stable error codes of invocations, beside <see cref="EnclaveErrorCodes"/>; part of the public API.</summary>
public static class FunctionErrorCodes
{
    /// <summary>A <c>{"$token"}</c> in the args is not a live token of the caller's tenant.</summary>
    public const string UnknownToken = "unknown-token";

    /// <summary>A token in the args has a classifier the manifest does not let the function reveal (the detail names it).</summary>
    public const string ClassifierNotPermitted = "classifier-not-permitted";

    /// <summary>The args are not a JSON object, or a <c>{"$token"}</c> reference is malformed.</summary>
    public const string InvalidArgs = "invalid-args";

    /// <summary>The package does not hash to the measurement the router asked for.</summary>
    public const string MeasurementMismatch = "measurement-mismatch";

    /// <summary>The result contains a revealed value and the manifest does not allow plaintext out.</summary>
    public const string PlaintextInOutput = "plaintext-in-output";

    /// <summary>A <c>tokenizeOutput</c> field is missing from the result or is not a string or number.</summary>
    public const string TokenizeOutputFailed = "tokenize-output-failed";

    /// <summary>No sandbox backend (gVisor or bubblewrap) is available, or the runtime is missing.</summary>
    public const string SandboxUnavailable = "sandbox-unavailable";

    /// <summary>The continuation names an invocation the enclave is not running (finished, timed out, or never started).</summary>
    public const string UnknownInvocation = "unknown-invocation";

    // The sandbox's own codes pass through unchanged: handler-error, runner-crashed, malformed-frame,
    // frame-too-large, timeout, protocol-violation, memory-limit, cpu-limit, pids-limit, output-limit.
}
