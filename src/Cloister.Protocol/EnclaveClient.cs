namespace Cloister.Protocol;

/// <summary>Where the router finds a tenant's wrapped keys when the enclave asks for them.</summary>
public interface IWrappedKeySource
{
    /// <summary>All wrapped keys of the tenant (every data-key version, the FF1 and fingerprint keys).</summary>
    Task<IReadOnlyList<WrappedKey>> GetWrappedKeysAsync(string tenantId, CancellationToken cancellationToken);
}

/// <summary>
/// The router's typed view of the enclave: encodes requests, sends them over the transport, decodes
/// responses, and answers <see cref="KeysRequiredResponse"/> by resending with the tenant's wrapped keys.
/// </summary>
public sealed class EnclaveClient(IFrameTransport transport, IWrappedKeySource keys)
{
    /// <summary>Send a request; the response is of the matching type or <see cref="EnclaveErrorResponse"/>.</summary>
    public async Task<EnclaveResponse> SendAsync(EnclaveRequest request, CancellationToken cancellationToken)
    {
        var response = await SendOnceAsync(request, cancellationToken);
        if (response is KeysRequiredResponse)
        {
            var wrapped = await keys.GetWrappedKeysAsync(request.TenantId, cancellationToken);
            response = await SendOnceAsync(request with { Keys = wrapped }, cancellationToken);
            if (response is KeysRequiredResponse)
            {
                return new EnclaveErrorResponse(new EnclaveError(EnclaveErrorCodes.KeyUnavailable, "The tenant's keys could not be loaded into the enclave."));
            }
        }

        return response;
    }

    /// <summary>Send and expect <typeparamref name="T"/>; an error response becomes <see cref="EnclaveException"/>.</summary>
    public async Task<T> SendAsync<T>(EnclaveRequest request, CancellationToken cancellationToken)
        where T : EnclaveResponse
    {
        var response = await SendAsync(request, cancellationToken);
        return response switch
        {
            T typed => typed,
            EnclaveErrorResponse error => throw new EnclaveException(error.Error),
            _ => throw new EnclaveException(new EnclaveError(EnclaveErrorCodes.Internal, $"Unexpected enclave response {response.GetType().Name}.")),
        };
    }

    /// <summary>Pings the worker (<see cref="WorkerHealth.PingAsync"/>): no tenant, no keys, at most <paramref name="timeout"/>.</summary>
    public Task<WorkerPing> PingAsync(TimeSpan timeout, CancellationToken cancellationToken)
        => WorkerHealth.PingAsync(transport, timeout, cancellationToken);

    private async Task<EnclaveResponse> SendOnceAsync(EnclaveRequest request, CancellationToken cancellationToken)
    {
        var frame = await transport.SendAsync(EnclaveCodec.Encode(request), cancellationToken);
        return EnclaveCodec.DecodeResponse(frame)
            ?? new EnclaveErrorResponse(new EnclaveError(EnclaveErrorCodes.Internal, "The enclave sent an unreadable response."));
    }
}

/// <summary>An enclave request failed as a whole. The message carries the code and detail only, never a value.</summary>
public sealed class EnclaveException(EnclaveError error) : Exception($"{error.Code}: {error.Detail}")
{
    /// <summary>The enclave's error.</summary>
    public EnclaveError Error { get; } = error;
}
