using System.Security.Cryptography;
using Cloister.Protocol;

namespace Cloister.KeyBroker;

/// <summary>
/// The key broker's side of its frame boundary: generates tenant keys and returns them wrapped by the
/// master key, and unwraps them for the enclave.
/// </summary>
/// <remarks>
/// Never throws to the transport: malformed frames, invalid fields and bugs all become
/// <see cref="BrokerErrorResponse"/>. Keys are 256-bit (AES-256 data and FF1 keys, HMAC-SHA256
/// fingerprint keys) and are zeroed as soon as they are wrapped or encoded into the response frame.
/// Unwrapping is unconditional for now; the confidential-invocation issue adds the
/// request → challenge → attestation → response exchange and the release policy in front of it.
/// </remarks>
public sealed class KeyBrokerHost : IFrameHandler
{
    /// <summary>Size of every tenant key in bytes.</summary>
    public const int KeySize = 32;

    // A tenant has three keys plus one per data-key version; this bounds the work one frame can ask for.
    private const int MaxKeysPerRequest = 1024;

    private readonly IMasterKeyProvider _masterKey;

    /// <summary>Create a broker that wraps and unwraps with <paramref name="masterKey"/>.</summary>
    public KeyBrokerHost(IMasterKeyProvider masterKey)
    {
        ArgumentNullException.ThrowIfNull(masterKey);
        _masterKey = masterKey;
    }

    /// <inheritdoc />
    /// <remarks>Only cancellation of <paramref name="cancellationToken"/> escapes as an exception.</remarks>
    public async ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        BrokerResponse response;
        try
        {
            response = BrokerCodec.DecodeRequest(request.Span) switch
            {
                GenerateKeysRequest generate => await GenerateAsync(generate, cancellationToken),
                UnwrapKeysRequest unwrap => await UnwrapAsync(unwrap, cancellationToken),
                _ => Error(BrokerErrorCodes.BadRequest, "The frame is not a key broker request."),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            // The exception's message is not passed on: the detail must stay free of anything secret.
            response = Error(BrokerErrorCodes.Internal, "The key broker failed to handle the request.");
        }

        var frame = BrokerCodec.Encode(response);
        if (response is UnwrapKeysResponse unwrapped)
        {
            foreach (var key in unwrapped.Keys)
            {
                CryptographicOperations.ZeroMemory(key.Key);
            }
        }

        return frame;
    }

    private async Task<BrokerResponse> GenerateAsync(GenerateKeysRequest request, CancellationToken cancellationToken)
    {
        if (Validate(request.TenantId, request.Keys?.Count) is { } invalid)
        {
            return invalid;
        }

        foreach (var spec in request.Keys!)
        {
            if (spec is null || !IsKnownKey(spec.Purpose, spec.Version))
            {
                return Error(BrokerErrorCodes.BadRequest, "Each key needs a known purpose and a version of 1 or more.");
            }
        }

        var wrapped = new List<WrappedKey>(request.Keys!.Count);
        var key = GC.AllocateArray<byte>(KeySize, pinned: true);
        try
        {
            foreach (var spec in request.Keys!)
            {
                RandomNumberGenerator.Fill(key);
                var context = KeyWrapContext.Create(request.TenantId, spec.Purpose, spec.Version);
                var blob = await _masterKey.WrapAsync(key, context, cancellationToken);
                wrapped.Add(new WrappedKey(spec.Purpose, spec.Version, blob));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        return new GenerateKeysResponse(wrapped);
    }

    private async Task<BrokerResponse> UnwrapAsync(UnwrapKeysRequest request, CancellationToken cancellationToken)
    {
        if (Validate(request.TenantId, request.Keys?.Count) is { } invalid)
        {
            return invalid;
        }

        var unwrapped = new List<UnwrappedKey>(request.Keys!.Count);
        var complete = false;
        try
        {
            foreach (var wrapped in request.Keys!)
            {
                if (wrapped is null || wrapped.Blob is null || !IsKnownKey(wrapped.Purpose, wrapped.Version))
                {
                    return Error(BrokerErrorCodes.BadRequest, "Each wrapped key needs a known purpose, a version of 1 or more and a blob.");
                }

                var context = KeyWrapContext.Create(request.TenantId, wrapped.Purpose, wrapped.Version);
                var key = await _masterKey.UnwrapAsync(wrapped.Blob, context, cancellationToken);
                if (key is null || key.Length != KeySize)
                {
                    if (key is not null)
                    {
                        CryptographicOperations.ZeroMemory(key);
                    }

                    // Names the key, not the tenant's other keys: enough for the operator to find the row.
                    return Error(
                        BrokerErrorCodes.UnwrapFailed,
                        $"The {wrapped.Purpose} key version {wrapped.Version} does not authenticate for this tenant under the master key.");
                }

                unwrapped.Add(new UnwrappedKey(wrapped.Purpose, wrapped.Version, key));
            }

            complete = true;
            return new UnwrapKeysResponse(unwrapped);
        }
        finally
        {
            // All or nothing: on failure the keys unwrapped so far never leave the broker.
            if (!complete)
            {
                foreach (var key in unwrapped)
                {
                    CryptographicOperations.ZeroMemory(key.Key);
                }
            }
        }
    }

    private static BrokerErrorResponse? Validate(string? tenantId, int? keyCount)
    {
        if (string.IsNullOrEmpty(tenantId))
        {
            return Error(BrokerErrorCodes.BadRequest, "The request needs a tenant id.");
        }

        if (keyCount is null or 0 or > MaxKeysPerRequest)
        {
            return Error(BrokerErrorCodes.BadRequest, $"The request needs between 1 and {MaxKeysPerRequest} keys.");
        }

        return null;
    }

    private static bool IsKnownKey(string? purpose, int version)
        => purpose is KeyPurpose.Data or KeyPurpose.Fpe or KeyPurpose.Fingerprint && version >= 1;

    private static BrokerErrorResponse Error(string code, string detail) => new(new BrokerError(code, detail));
}
