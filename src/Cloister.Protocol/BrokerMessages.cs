using System.Text.Json.Serialization;

namespace Cloister.Protocol;

// The enclave <-> key broker boundary. Like the router <-> enclave messages, these are plain
// request/response records serialized to bytes (Frames.Broker) and carried by an IFrameTransport (in-process
// in tests, HTTP to `cloister keybroker`). Only the enclave talks to the broker; the router never sees
// these frames. Key release follows the Confidential Containers Trustee exchange: challenge (a nonce) →
// attestation (evidence binding SHA-512 of the worker's claims, which carry the nonce and the worker's
// HPKE public key) → a session → unwrap, answered with the keys sealed (HPKE) to that public key.

/// <summary>A request from the enclave to the key broker.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$op")]
[JsonDerivedType(typeof(ChallengeRequest), "challenge")]
[JsonDerivedType(typeof(AttestRequest), "attest")]
[JsonDerivedType(typeof(GenerateKeysRequest), "generateKeys")]
[JsonDerivedType(typeof(UnwrapKeysRequest), "unwrapKeys")]
[JsonDerivedType(typeof(ShredKeysRequest), "shredKeys")]
public abstract record BrokerRequest;

/// <summary>A response from the key broker.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$op")]
[JsonDerivedType(typeof(ChallengeResponse), "challenge")]
[JsonDerivedType(typeof(AttestResponse), "attest")]
[JsonDerivedType(typeof(GenerateKeysResponse), "generateKeys")]
[JsonDerivedType(typeof(UnwrapKeysResponse), "unwrapKeys")]
[JsonDerivedType(typeof(ShredKeysResponse), "shredKeys")]
[JsonDerivedType(typeof(BrokerErrorResponse), "error")]
public abstract record BrokerResponse;

/// <summary>Ask for a nonce to attest with.</summary>
public sealed record ChallengeRequest : BrokerRequest;

/// <summary>A fresh nonce; it is good for one attestation before <paramref name="ExpiresAt"/>.</summary>
/// <param name="Nonce">32 random bytes, to be put into the worker's claims.</param>
/// <param name="ExpiresAt">When the broker forgets the nonce.</param>
public sealed record ChallengeResponse(byte[] Nonce, DateTimeOffset ExpiresAt) : BrokerResponse;

/// <summary>Evidence from the worker's TEE binding <c>report_data = SHA-512(Claims)</c>.</summary>
/// <param name="Nonce">The nonce from the challenge (the claims must carry the same one).</param>
/// <param name="Tee">The TEE name as in policies: "sev-snp", "tdx", "nitro" or "simulated".</param>
/// <param name="Evidence">The report, quote or attestation document.</param>
/// <param name="Certificates">Certificates the TEE returned beside the evidence.</param>
/// <param name="Claims">The canonical claims (Cloister.Protocol.Attestation.WorkerClaims).</param>
public sealed record AttestRequest(byte[] Nonce, string Tee, byte[] Evidence, IReadOnlyList<byte[]> Certificates, byte[] Claims) : BrokerRequest;

/// <summary>The attestation held: keys are released to the attested public key under <paramref name="Session"/> until <paramref name="ExpiresAt"/>.</summary>
public sealed record AttestResponse(string Session, DateTimeOffset ExpiresAt) : BrokerResponse;

/// <summary>Which key to generate: a <see cref="KeyPurpose"/> and a version (1 or more).</summary>
public sealed record KeySpec(string Purpose, int Version);

/// <summary>Generate fresh random 256-bit keys for the tenant and return them wrapped (no attestation needed: nothing leaves unwrapped).</summary>
public sealed record GenerateKeysRequest(IReadOnlyList<KeySpec> Keys) : BrokerRequest
{
    /// <summary>The tenant the keys belong to; bound into every wrapped key.</summary>
    public required string TenantId { get; init; }
}

/// <summary>The generated keys, wrapped by the master key, in request order.</summary>
public sealed record GenerateKeysResponse(IReadOnlyList<WrappedKey> Keys) : BrokerResponse;

/// <summary>
/// Unwrap the tenant's keys for the attested worker of <paramref name="Session"/> (all of them or none: one key
/// that fails to authenticate fails the request).
/// </summary>
public sealed record UnwrapKeysRequest(IReadOnlyList<WrappedKey> Keys, string Session) : BrokerRequest
{
    /// <summary>The tenant the keys belong to.</summary>
    public required string TenantId { get; init; }
}

/// <summary>
/// The unwrapped keys, sealed to the session's public key: a Cloister.Crypto SealedBox with purpose
/// <see cref="BrokerKeySet.SealPurpose"/> and associated data <see cref="BrokerKeySet.AssociatedData"/>,
/// whose plaintext is <see cref="BrokerKeySet"/>'s encoding of the keys in request order.
/// </summary>
public sealed record UnwrapKeysResponse(byte[] SealedKeys) : BrokerResponse;

/// <summary>
/// Never unwrap the tenant's keys again: all of them (<paramref name="DataKeyVersion"/> null: the tenant was deleted), or
/// one data-key version (retired). The broker records it durably before it answers, and from then on refuses every
/// unwrap that names the tenant or that version (<see cref="BrokerErrorCodes.KeysShredded"/>), whoever presents the
/// wrapped keys. Needs an attested session whose worker may hold the tenant's keys. Idempotent.
/// </summary>
public sealed record ShredKeysRequest(int? DataKeyVersion, string Session) : BrokerRequest
{
    /// <summary>The tenant whose keys are shredded.</summary>
    public required string TenantId { get; init; }
}

/// <summary>The shredding is recorded.</summary>
public sealed record ShredKeysResponse : BrokerResponse;

/// <summary>The request failed as a whole. The detail names codes, checks, purposes and versions only, never key bytes or evidence.</summary>
public sealed record BrokerErrorResponse(BrokerError Error) : BrokerResponse;

/// <summary>A stable error code with a short detail.</summary>
/// <param name="Code">One of <see cref="BrokerErrorCodes"/>.</param>
/// <param name="Detail">A short human explanation.</param>
public sealed record BrokerError(string Code, string Detail)
{
    /// <summary>For <see cref="BrokerErrorCodes.AttestationRefused"/>: the names of the checks that failed.</summary>
    public IReadOnlyList<string>? FailedChecks { get; init; }
}

/// <summary>Stable error codes the key broker returns.</summary>
public static class BrokerErrorCodes
{
    /// <summary>A wrapped key did not authenticate for the tenant, purpose and version it claims.</summary>
    public const string UnwrapFailed = "unwrap-failed";

    /// <summary>The frame was not a valid broker request, or a field was out of range.</summary>
    public const string BadRequest = "bad-request";

    /// <summary>The session is missing, unknown or expired: attest again (challenge, attest) and retry.</summary>
    public const string AttestationRequired = "attestation-required";

    /// <summary>The attestation did not hold; <see cref="BrokerError.FailedChecks"/> names the checks that failed.</summary>
    public const string AttestationRefused = "attestation-refused";

    /// <summary>The release policy does not give this tenant's keys to the attested worker measurement.</summary>
    public const string TenantNotAllowed = "tenant-not-allowed";

    /// <summary>The tenant was deleted, or the data-key version retired: the broker never unwraps these keys again.</summary>
    public const string KeysShredded = "keys-shredded";

    /// <summary>A bug or a broken environment inside the broker.</summary>
    public const string Internal = "internal";
}
