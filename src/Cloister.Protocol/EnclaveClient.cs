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
/// <remarks>
/// Each request travels in its lane (<see cref="FrameLanes.Of"/>). Requests of the <see cref="FrameLane.Request"/> lane
/// first pass <paramref name="requests"/>, which shares the worker's request slots fairly among tenants and refuses a
/// tenant that already has too many waiting (<see cref="TenantBusyException"/>); without one, they go straight out.
/// Invocation frames are admitted per invocation by the router's invocation service, and health pings by nobody.
/// </remarks>
public sealed class EnclaveClient(IFrameTransport transport, IWrappedKeySource keys, FairGate? requests = null)
{
    /// <summary>
    /// The longest a request-lane frame is waited for after its caller gave up (the turn it holds is freed then). No
    /// request-lane operation takes nearly as long; a worker that does is hung, and the hang watch replaces a local one.
    /// </summary>
    public TimeSpan RequestFrameTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Send a request; the response is of the matching type or <see cref="EnclaveErrorResponse"/>.</summary>
    /// <exception cref="TenantBusyException">The request lane's gate refused the tenant (too many of its requests waiting).</exception>
    /// <exception cref="FrameTooLargeException">The request, or its answer, is larger than one frame may be.</exception>
    /// <exception cref="TransportUnavailableException">The worker is unavailable.</exception>
    public Task<EnclaveResponse> SendAsync(EnclaveRequest request, CancellationToken cancellationToken)
        => SendAsync(request, admission: null, cancellationToken);

    /// <summary>
    /// Take the tenant's turn in the request lane's gate now, before building a request that carries much (an invocation
    /// outcome loaded from the store, say), so that requests waiting for their turn hold nothing; pass the ticket to
    /// <see cref="SendAsync{T}(EnclaveRequest, FairGate.Ticket?, CancellationToken)"/> and dispose it afterwards. Null when
    /// the client has no gate.
    /// </summary>
    /// <exception cref="TenantBusyException">The tenant has too many requests waiting.</exception>
    public async ValueTask<FairGate.Ticket?> EnterAsync(string tenantId, CancellationToken cancellationToken)
        => requests is null ? null : await requests.EnterAsync(tenantId, cancellationToken).ConfigureAwait(false);

    /// <summary>Send and expect <typeparamref name="T"/>; an error response becomes <see cref="EnclaveException"/>.</summary>
    public Task<T> SendAsync<T>(EnclaveRequest request, CancellationToken cancellationToken)
        where T : EnclaveResponse
        => SendAsync<T>(request, admission: null, cancellationToken);

    /// <summary>As <see cref="SendAsync{T}(EnclaveRequest, CancellationToken)"/>, in a turn already taken with <see cref="EnterAsync"/> (null: take one).</summary>
    public async Task<T> SendAsync<T>(EnclaveRequest request, FairGate.Ticket? admission, CancellationToken cancellationToken)
        where T : EnclaveResponse
    {
        var response = await SendAsync(request, admission, cancellationToken);
        return response switch
        {
            T typed => typed,
            EnclaveErrorResponse error => throw new EnclaveException(error.Error),
            _ => throw new EnclaveException(new EnclaveError(EnclaveErrorCodes.Internal, $"Unexpected enclave response {response.GetType().Name}.")),
        };
    }

    private async Task<EnclaveResponse> SendAsync(EnclaveRequest request, FairGate.Ticket? admission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var lane = FrameLanes.Of(request);
        if (lane != FrameLane.Request)
        {
            return await SendWithKeysAsync(request, lane, cancellationToken);
        }

        var ticket = admission is null && requests is not null
            ? await requests.EnterAsync(request.TenantId, cancellationToken)
            : null;

        // Once a request frame is sent it holds a worker slot until the worker answers, so the turn is held as long (and
        // so are the slots the caller's request took, RequestHolds): a caller that gives up stops waiting for the answer,
        // but what it holds is freed only when the frame is answered, or after RequestFrameTimeout, so that a worker that
        // never answers (a stopped remote one, say) cannot keep it. Cancellation counts in full only while waiting for a turn.
        var holds = RequestHolds.HoldAll();
        if (((IDisposable?)ticket ?? admission?.Hold()) is { } turn)
        {
            holds.Add(turn);
        }

        var timeout = new CancellationTokenSource(RequestFrameTimeout);
        var send = SendWithKeysAsync(request, lane, timeout.Token);
        _ = send.ContinueWith(
            static (sent, state) =>
            {
                _ = sent.Exception; // observed here when the caller stopped waiting
                var (timer, held) = ((CancellationTokenSource, List<IDisposable>))state!;
                foreach (var hold in held)
                {
                    hold.Dispose();
                }

                timer.Dispose();
            },
            (timeout, holds),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        try
        {
            return await send.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransportUnavailableException($"The enclave worker did not answer within {RequestFrameTimeout.TotalSeconds:0} s.", e);
        }
    }

    private async Task<EnclaveResponse> SendWithKeysAsync(EnclaveRequest request, FrameLane lane, CancellationToken cancellationToken)
    {
        var response = await SendOnceAsync(request, lane, cancellationToken);
        if (response is KeysRequiredResponse)
        {
            var wrapped = await keys.GetWrappedKeysAsync(request.TenantId, cancellationToken);
            response = await SendOnceAsync(request with { Keys = wrapped }, lane, cancellationToken);
            if (response is KeysRequiredResponse)
            {
                return new EnclaveErrorResponse(new EnclaveError(EnclaveErrorCodes.KeyUnavailable, "The tenant's keys could not be loaded into the enclave."));
            }
        }

        return response;
    }

    /// <summary>Pings the worker (<see cref="WorkerHealth.PingAsync"/>): no tenant, no keys, at most <paramref name="timeout"/>.</summary>
    public Task<WorkerPing> PingAsync(TimeSpan timeout, CancellationToken cancellationToken)
        => WorkerHealth.PingAsync(transport, timeout, cancellationToken);

    private async Task<EnclaveResponse> SendOnceAsync(EnclaveRequest request, FrameLane lane, CancellationToken cancellationToken)
    {
        var frame = await transport.SendAsync(Frames.Enclave.Encode(request), lane, cancellationToken);
        return Frames.Enclave.DecodeResponse(frame)
            ?? new EnclaveErrorResponse(new EnclaveError(EnclaveErrorCodes.Internal, "The enclave sent an unreadable response."));
    }
}

/// <summary>An enclave request failed as a whole. The message carries the code and detail only, never a value.</summary>
public sealed class EnclaveException(EnclaveError error) : Exception($"{error.Code}: {error.Detail}")
{
    /// <summary>The enclave's error.</summary>
    public EnclaveError Error { get; } = error;
}
