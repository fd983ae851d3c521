using System.Text.Json.Serialization;

namespace Cloister.Protocol;

// The router <-> enclave boundary. Every operation that needs key material is one of these
// request/response pairs, serialized to bytes by Frames.Enclave and carried by an IFrameTransport.
// Nothing else crosses: no shared objects, so the enclave can move into its own process (and onto
// another host) without the router changing. Values travel as strings; keys only ever travel
// wrapped (WrappedKey.Blob), never in the clear.

/// <summary>A request from the router to the enclave.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$op")]
[JsonDerivedType(typeof(CreateTenantKeysRequest), "createTenantKeys")]
[JsonDerivedType(typeof(RotateDataKeyRequest), "rotateDataKey")]
[JsonDerivedType(typeof(TokenizeRequest), "tokenize")]
[JsonDerivedType(typeof(RevealRequest), "reveal")]
[JsonDerivedType(typeof(ReencryptRequest), "reencrypt")]
[JsonDerivedType(typeof(FingerprintRequest), "fingerprint")]
[JsonDerivedType(typeof(InvokeFunctionRequest), "invokeFunction")]
[JsonDerivedType(typeof(ContinueInvocationRequest), "continueInvocation")]
[JsonDerivedType(typeof(RetireFunctionRequest), "retireFunction")]
[JsonDerivedType(typeof(OpenInvocationOutcomeRequest), "openInvocationOutcome")]
[JsonDerivedType(typeof(AttestationRequest), "attest")]
[JsonDerivedType(typeof(SealedTokenizeRequest), "sealedTokenize")]
[JsonDerivedType(typeof(SealedRevealRequest), "sealedReveal")]
[JsonDerivedType(typeof(WorkerHealthRequest), "health")]
[JsonDerivedType(typeof(ForgetTenantRequest), "forgetTenant")]
[JsonDerivedType(typeof(RetireDataKeyRequest), "retireDataKey")]
public abstract record EnclaveRequest
{
    /// <summary>The tenant whose keys the operation uses.</summary>
    public required string TenantId { get; init; }

    /// <summary>
    /// The tenant's wrapped keys, attached by the router only after the enclave answered
    /// <see cref="KeysRequiredResponse"/>; the enclave unwraps them through the key broker and caches
    /// the result, so steady-state requests carry none.
    /// </summary>
    public IReadOnlyList<WrappedKey>? Keys { get; init; }
}

/// <summary>A response from the enclave.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$op")]
[JsonDerivedType(typeof(CreateTenantKeysResponse), "createTenantKeys")]
[JsonDerivedType(typeof(RotateDataKeyResponse), "rotateDataKey")]
[JsonDerivedType(typeof(TokenizeResponse), "tokenize")]
[JsonDerivedType(typeof(RevealResponse), "reveal")]
[JsonDerivedType(typeof(ReencryptResponse), "reencrypt")]
[JsonDerivedType(typeof(FingerprintResponse), "fingerprint")]
[JsonDerivedType(typeof(FunctionRequiredResponse), "functionRequired")]
[JsonDerivedType(typeof(InvocationPendingResponse), "invocationPending")]
[JsonDerivedType(typeof(InvocationCompletedResponse), "invocationCompleted")]
[JsonDerivedType(typeof(RetireFunctionResponse), "retireFunction")]
[JsonDerivedType(typeof(InvocationOutcomeResponse), "invocationOutcome")]
[JsonDerivedType(typeof(KeysRequiredResponse), "keysRequired")]
[JsonDerivedType(typeof(AttestationResponse), "attest")]
[JsonDerivedType(typeof(SealedRevealResponse), "sealedReveal")]
[JsonDerivedType(typeof(WorkerHealthResponse), "health")]
[JsonDerivedType(typeof(ForgetTenantResponse), "forgetTenant")]
[JsonDerivedType(typeof(RetireDataKeyResponse), "retireDataKey")]
[JsonDerivedType(typeof(EnclaveErrorResponse), "error")]
public abstract record EnclaveResponse;

/// <summary>Purposes of a tenant's keys.</summary>
public static class KeyPurpose
{
    /// <summary>AES-256-GCM data key (versioned; rotation adds a version).</summary>
    public const string Data = "data";

    /// <summary>AES-256 FF1 key of the <c>fpe</c> format (never rotated: an FPE token is its own ciphertext).</summary>
    public const string Fpe = "fpe";

    /// <summary>HMAC-SHA256 key for fingerprints (search and deterministic tokens).</summary>
    public const string Fingerprint = "fingerprint";
}

/// <summary>A tenant key wrapped (AES-256-GCM) by the master key. Only the key broker can unwrap it.</summary>
public sealed record WrappedKey(string Purpose, int Version, byte[] Blob);

/// <summary>Generate a new tenant's data key (version 1), FF1 key and fingerprint key.</summary>
public sealed record CreateTenantKeysRequest : EnclaveRequest;

/// <summary>The new tenant's keys, wrapped, for the router to store.</summary>
public sealed record CreateTenantKeysResponse(IReadOnlyList<WrappedKey> Keys) : EnclaveResponse;

/// <summary>Generate data key version <paramref name="NewVersion"/>.</summary>
public sealed record RotateDataKeyRequest(int NewVersion) : EnclaveRequest;

/// <summary>The new data key version, wrapped.</summary>
public sealed record RotateDataKeyResponse(WrappedKey Key) : EnclaveResponse;

/// <summary>
/// Crypto-shred a deleted tenant in this worker: zero its unwrapped keys and refuse to hold them again, forget its
/// sealing sessions, stop its invocations, kill its sandboxes and delete its function packages; then have the key broker
/// record the tenant as deleted, so that it never unwraps the tenant's keys again (for any worker, from any copy of the
/// wrapped keys). Idempotent. The router sends it after the store has deleted the tenant, and again until it succeeds.
/// </summary>
public sealed record ForgetTenantRequest : EnclaveRequest;

/// <summary>The worker forgot the tenant and the key broker recorded it as deleted; the counts are what the worker dropped.</summary>
/// <param name="Keys">Unwrapped keys zeroed (data-key versions, fpe and fingerprint keys).</param>
/// <param name="Sessions">Sealing sessions forgotten.</param>
/// <param name="Invocations">Running invocations stopped.</param>
/// <param name="Functions">Function versions whose sandboxes were killed and packages deleted.</param>
public sealed record ForgetTenantResponse(int Keys, int Sessions, int Invocations, int Functions) : EnclaveResponse;

/// <summary>
/// Crypto-shred data key <paramref name="Version"/> of the tenant (retired after re-encryption moved everything off
/// it): the worker zeroes it and refuses to hold it again, and the key broker records it as retired, so it never
/// unwraps it again. Idempotent; sent again until it succeeds.
/// </summary>
public sealed record RetireDataKeyRequest(int Version) : EnclaveRequest;

/// <summary>The worker forgot the version and the key broker recorded it as retired.</summary>
public sealed record RetireDataKeyResponse : EnclaveResponse;

/// <summary>One value to tokenize.</summary>
/// <param name="Value">The plaintext.</param>
/// <param name="Format">Token format: random, numeric, pan, pan-last4, ssn-last4, fpe.</param>
/// <param name="Alphabet">For <c>fpe</c>: digits (default), lower-alnum or alnum.</param>
/// <param name="Classifier">Classifier (bound into the deterministic lookup key).</param>
/// <param name="Deterministic">Whether the router will look the value up before storing a new token.</param>
/// <param name="Attempt">0 for the first try; the router increments it when the token was already taken.</param>
/// <param name="ScanStart">
/// Random start of the sequential scan used once random draws keep colliding in a small token
/// space, so that a nearly full space is still filled exactly (see TokenizeResult.SpaceSize).
/// </param>
public sealed record TokenizeItem(
    string Value,
    string Format,
    string? Alphabet,
    string Classifier,
    bool Deterministic,
    int Attempt = 0,
    ulong ScanStart = 0);

/// <summary>Tokenize values under data key <paramref name="KeyVersion"/>.</summary>
public sealed record TokenizeRequest(int KeyVersion, IReadOnlyList<TokenizeItem> Items) : EnclaveRequest;

/// <summary>The outcome for one <see cref="TokenizeItem"/>, in request order.</summary>
/// <param name="Token">The token (null when <paramref name="Error"/> is set).</param>
/// <param name="Ciphertext">AES-256-GCM ciphertext of the value (null for fpe: the token is the ciphertext).</param>
/// <param name="Fingerprint">HMAC-SHA256 of the value under the tenant's fingerprint key (search).</param>
/// <param name="DeterministicKey">HMAC binding format, alphabet, classifier and value (only when deterministic).</param>
/// <param name="Mask">A display mask such as 411111******1111; never more than the token reveals.</param>
/// <param name="SpaceSize">How many distinct tokens this value can have in this format (saturates at long.MaxValue).</param>
/// <param name="Error">A stable error code when the value is not valid for the format.</param>
public sealed record TokenizeResult(
    string? Token,
    byte[]? Ciphertext,
    byte[]? Fingerprint,
    byte[]? DeterministicKey,
    string? Mask,
    long SpaceSize,
    EnclaveError? Error);

/// <summary>Results in request order.</summary>
public sealed record TokenizeResponse(IReadOnlyList<TokenizeResult> Results) : EnclaveResponse;

/// <summary>A stored token record the enclave needs to recover the value.</summary>
public sealed record RevealItem(string Token, string Format, string? Alphabet, int KeyVersion, byte[]? Ciphertext);

/// <summary>Recover values.</summary>
public sealed record RevealRequest(IReadOnlyList<RevealItem> Items) : EnclaveRequest;

/// <summary>A recovered value or an error, in request order.</summary>
public sealed record RevealResult(string? Value, EnclaveError? Error);

/// <summary>Results in request order.</summary>
public sealed record RevealResponse(IReadOnlyList<RevealResult> Results) : EnclaveResponse;

/// <summary>Re-encrypt stored ciphertexts under data key <paramref name="ToVersion"/> (key rotation).</summary>
public sealed record ReencryptRequest(int ToVersion, IReadOnlyList<RevealItem> Items) : EnclaveRequest;

/// <summary>New ciphertexts in request order (null where the item failed).</summary>
public sealed record ReencryptResponse(IReadOnlyList<byte[]?> Ciphertexts) : EnclaveResponse;

/// <summary>Compute the search fingerprint of a value.</summary>
public sealed record FingerprintRequest(string Value) : EnclaveRequest;

/// <summary>The fingerprint.</summary>
public sealed record FingerprintResponse(byte[] Fingerprint) : EnclaveResponse;

/// <summary>The enclave has no unwrapped keys for the tenant (or lacks a version); resend with <see cref="EnclaveRequest.Keys"/>.</summary>
public sealed record KeysRequiredResponse(string TenantId) : EnclaveResponse;

/// <summary>The request as a whole failed.</summary>
public sealed record EnclaveErrorResponse(EnclaveError Error) : EnclaveResponse;

/// <summary>
/// A stable error code with a short detail. The detail never contains a value or key: it is
/// returned to API callers as problem details.
/// </summary>
public sealed record EnclaveError(string Code, string Detail);

/// <summary>Stable error codes the enclave returns.</summary>
public static class EnclaveErrorCodes
{
    public const string UnknownFormat = "unknown-format";
    public const string UnknownAlphabet = "unknown-alphabet";
    public const string InvalidValue = "invalid-value";
    public const string InvalidCardNumber = "invalid-card-number";
    public const string DomainTooSmall = "domain-too-small";
    public const string SpaceExhausted = "token-space-exhausted";
    public const string DecryptFailed = "decrypt-failed";
    public const string KeyUnavailable = "key-unavailable";
    public const string BadRequest = "bad-request";
    public const string Internal = "internal";
}
