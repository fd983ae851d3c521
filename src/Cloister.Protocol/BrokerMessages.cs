using System.Text.Json.Serialization;

namespace Cloister.Protocol;

// The enclave <-> key broker boundary. Like the router <-> enclave messages, these are plain
// request/response records serialized to bytes (BrokerCodec) and carried by an IFrameTransport, so the
// broker can run in-process now and on its own host later. Only the enclave talks to the broker; the
// router never sees these frames.

/// <summary>A request from the enclave to the key broker.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$op")]
[JsonDerivedType(typeof(GenerateKeysRequest), "generateKeys")]
[JsonDerivedType(typeof(UnwrapKeysRequest), "unwrapKeys")]
public abstract record BrokerRequest
{
    /// <summary>The tenant the keys belong to; bound into every wrapped key.</summary>
    public required string TenantId { get; init; }
}

/// <summary>A response from the key broker.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$op")]
[JsonDerivedType(typeof(GenerateKeysResponse), "generateKeys")]
[JsonDerivedType(typeof(UnwrapKeysResponse), "unwrapKeys")]
[JsonDerivedType(typeof(BrokerErrorResponse), "error")]
public abstract record BrokerResponse;

/// <summary>Which key to generate: a <see cref="KeyPurpose"/> and a version (1 or more).</summary>
public sealed record KeySpec(string Purpose, int Version);

/// <summary>Generate fresh random 256-bit keys for the tenant and return them wrapped.</summary>
public sealed record GenerateKeysRequest(IReadOnlyList<KeySpec> Keys) : BrokerRequest;

/// <summary>The generated keys, wrapped by the master key, in request order.</summary>
public sealed record GenerateKeysResponse(IReadOnlyList<WrappedKey> Keys) : BrokerResponse;

/// <summary>Unwrap the tenant's keys (all of them or none: one key that fails to authenticate fails the request).</summary>
public sealed record UnwrapKeysRequest(IReadOnlyList<WrappedKey> Keys) : BrokerRequest;

/// <summary>
/// An unwrapped tenant key. The receiver zeroes <paramref name="Key"/> once it has copied it.
/// </summary>
/// <remarks>
/// For now the key travels in the clear: the broker and the enclave run in one process behind an
/// in-process transport. The confidential-invocation issue replaces this with the key sealed (HPKE) to
/// the attested enclave's public key, released only after the appraisal policy holds.
/// </remarks>
public sealed record UnwrappedKey(string Purpose, int Version, byte[] Key);

/// <summary>The unwrapped keys, in request order.</summary>
public sealed record UnwrapKeysResponse(IReadOnlyList<UnwrappedKey> Keys) : BrokerResponse;

/// <summary>The request failed as a whole. The detail names purposes and versions only, never key bytes.</summary>
public sealed record BrokerErrorResponse(BrokerError Error) : BrokerResponse;

/// <summary>A stable error code with a short detail.</summary>
public sealed record BrokerError(string Code, string Detail);

/// <summary>Stable error codes the key broker returns.</summary>
public static class BrokerErrorCodes
{
    /// <summary>A wrapped key did not authenticate for the tenant, purpose and version it claims.</summary>
    public const string UnwrapFailed = "unwrap-failed";

    /// <summary>The frame was not a valid broker request, or a field was out of range.</summary>
    public const string BadRequest = "bad-request";

    /// <summary>A bug or a broken environment inside the broker.</summary>
    public const string Internal = "internal";
}
