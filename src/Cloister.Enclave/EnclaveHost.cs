using Cloister.Enclave.Attestation;
using Cloister.Enclave.Functions;
using Cloister.Enclave.Sealed;
using Cloister.Protocol;

namespace Cloister.Enclave;

/// <summary>
/// The enclave's side of the router boundary: decodes an <see cref="EnclaveRequest"/> frame, does the
/// work with the tenant's keys, and encodes the <see cref="EnclaveResponse"/>.
/// </summary>
/// <remarks>
/// <para>Keys: the host keeps a keyring of unwrapped tenant keys. A request that needs a key it does
/// not hold is answered <see cref="KeysRequiredResponse"/> unless it carries
/// <see cref="EnclaveRequest.Keys"/>, in which case the host has the key broker (reached through
/// <c>keyBroker</c>) release the ones it lacks, caches them and proceeds. Release needs the worker's
/// <see cref="WorkerIdentity"/>: the host attests with it and opens the keys sealed to its public key;
/// without one every key load is <c>key-unavailable</c>. Disposing the host zeroes the keyring.</para>
/// <para>Failures: a malformed frame or field is <c>bad-request</c>; a key that cannot be loaded is
/// <c>key-unavailable</c>; a bug is <c>internal</c>. Nothing but cancellation of the caller's token
/// escapes to the transport, and no error detail contains a value.</para>
/// <para>Crypto-shredding: <see cref="ForgetTenantRequest"/> and <see cref="RetireDataKeyRequest"/> zero a deleted
/// tenant's keys (or a retired data-key version), refuse to hold them again for the life of the process, drop what else
/// the worker keeps for the tenant, and have the key broker record the shredding (docs/security.md).</para>
/// <para>Functions: invoke, continue and retire requests are handled by the function side
/// (<c>Functions/</c>, docs/design/invocation.md), which owns the package cache and the sandbox
/// pool; without <see cref="EnclaveFunctionOptions.Backend"/> every invocation fails with
/// <c>sandbox-unavailable</c>. Dispose the host (preferably with <see cref="DisposeAsync"/>) to stop
/// its invocations and kill its sandboxes.</para>
/// </remarks>
public sealed class EnclaveHost : IFrameHandler, IDisposable, IAsyncDisposable
{
    private static readonly KeySpec[] NewTenantKeys =
    [
        new(KeyPurpose.Data, 1),
        new(KeyPurpose.Fpe, KeyId.UnrotatedVersion),
        new(KeyPurpose.Fingerprint, KeyId.UnrotatedVersion),
    ];

    private readonly KeyBrokerClient _broker;
    private readonly Keyring _keyring = new();
    private readonly TokenOperations _operations;
    private readonly InvocationOutcomes _outcomes;
    private readonly FunctionHost _functions;

    /// <summary>Create an enclave host whose keys come from the key broker behind <paramref name="keyBroker"/>; it runs no functions.</summary>
    public EnclaveHost(IFrameTransport keyBroker)
        : this(keyBroker, null)
    {
    }

    /// <summary>
    /// Create an enclave host whose keys come from the key broker behind <paramref name="keyBroker"/>
    /// and whose functions run as <paramref name="functions"/> says (null: invocations fail with <c>sandbox-unavailable</c>).
    /// </summary>
    /// <param name="keyBroker">The transport to the key broker.</param>
    /// <param name="functions">How functions run, or null.</param>
    /// <param name="identity">The worker's HPKE key pair, measurement and evidence source (attestation to the key
    /// broker and to clients, sealed requests); the host disposes it. Null: no attestation, no sealed operations.</param>
    /// <exception cref="ArgumentException">An option is unusable (see <see cref="EnclaveFunctionOptions.Validate"/>).</exception>
    public EnclaveHost(IFrameTransport keyBroker, EnclaveFunctionOptions? functions, WorkerIdentity? identity = null)
    {
        ArgumentNullException.ThrowIfNull(keyBroker);
        Identity = identity;
        _broker = new KeyBrokerClient(keyBroker, identity);
        _operations = new TokenOperations(_keyring);
        _outcomes = new InvocationOutcomes(_keyring);
        _functions = new FunctionHost(functions, _operations, _outcomes, _keyring);
    }

    /// <summary>The worker's identity, or null when the host runs without attestation.</summary>
    internal WorkerIdentity? Identity { get; }

    /// <summary>The ids of the tenant keys the host holds now, never a key byte (for tests and diagnostics).</summary>
    internal IReadOnlyList<KeyId> HeldKeyIds => _keyring.HeldKeyIds();

    /// <summary>How many invocations the host is running (for tests and metrics).</summary>
    internal int RunningInvocations => _functions.RunningCount;

    /// <inheritdoc />
    public async ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        EnclaveResponse response;
        try
        {
            var decoded = Frames.Enclave.DecodeRequest(request.Span);
            response = decoded is null
                ? BadRequest("The frame is not an enclave request.")
                : await DispatchAsync(decoded, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            // The exception itself is not passed on: its message could quote a value.
            response = Error(EnclaveErrorCodes.Internal, "The enclave failed to handle the request.");
        }

        return Frames.Enclave.Encode(response);
    }

    /// <summary>Stop the invocations, kill every sandbox and zero every tenant key the enclave holds.</summary>
    public async ValueTask DisposeAsync()
    {
        await _functions.DisposeAsync().ConfigureAwait(false);
        _keyring.Dispose();
        _broker.Dispose();
        Identity?.Dispose();
    }

    /// <summary>As <see cref="DisposeAsync"/>, blocking until the sandboxes are gone.</summary>
    public void Dispose()
    {
        // Sync-over-async only here: callers that cannot await still must not leave sandboxes running.
        _functions.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _keyring.Dispose();
        _broker.Dispose();
        Identity?.Dispose();
    }

    private async Task<EnclaveResponse> DispatchAsync(EnclaveRequest request, CancellationToken cancellationToken)
    {
        // The health ping names no tenant and is answered at once, without keys or sandboxes (and without an await,
        // so it is answered on the frame reader even while other requests run or wait).
        if (request is WorkerHealthRequest)
        {
            return new WorkerHealthResponse(Identity is not null) { Statistics = Statistics() };
        }

        if (string.IsNullOrEmpty(request.TenantId)
            || (request.Keys is not null && request.Keys.Any(key => key?.Purpose is null || key.Blob is null)))
        {
            return BadRequest("The request needs a tenant id, and each attached key a purpose and a blob.");
        }

        if (request is not ForgetTenantRequest && _keyring.IsForgotten(request.TenantId))
        {
            // A deleted tenant's request that was on its way: nothing of it runs here again (no key, package or sandbox).
            return new EnclaveErrorResponse(Keyring.ForgottenTenant);
        }

        if (IsBulk(request))
        {
            // The ring's reader runs a request on its own thread until the request's first await, which saves a hop for
            // a single value. A batch or a package is real work: leave that thread at once, so that the requests behind
            // it (another tenant's) and health pings are read meanwhile.
            await Task.Yield();
        }

        return request switch
        {
            CreateTenantKeysRequest => await CreateTenantKeysAsync(request.TenantId, cancellationToken),
            RotateDataKeyRequest rotate => await RotateDataKeyAsync(rotate, cancellationToken),
            TokenizeRequest tokenize => await TokenizeAsync(tokenize, cancellationToken),
            RevealRequest reveal => await RevealAsync(reveal, cancellationToken),
            ReencryptRequest reencrypt => await ReencryptAsync(reencrypt, cancellationToken),
            FingerprintRequest fingerprint => await FingerprintAsync(fingerprint, cancellationToken),
            InvokeFunctionRequest invoke => await InvokeAsync(invoke, cancellationToken),
            ContinueInvocationRequest next => await _functions.ContinueAsync(next, cancellationToken),
            RetireFunctionRequest retire => await _functions.RetireAsync(retire),
            OpenInvocationOutcomeRequest open => await OpenInvocationOutcomeAsync(open, cancellationToken),
            AttestationRequest attest => await SealedRequests.AttestAsync(Identity, attest, cancellationToken),
            SealedTokenizeRequest sealedTokenize => await SealedTokenizeAsync(sealedTokenize, cancellationToken),
            SealedRevealRequest sealedReveal => await SealedRevealAsync(sealedReveal, cancellationToken),
            ForgetTenantRequest => await ForgetTenantAsync(request.TenantId, cancellationToken),
            RetireDataKeyRequest retire => await RetireDataKeyAsync(retire, cancellationToken),
            _ => BadRequest("The operation is not known to this enclave."),
        };
    }

    /// <summary>The counts the health answer carries to the router's /metrics: numbers only, nothing that names a tenant.</summary>
    private WorkerStatistics Statistics()
    {
        var pool = _functions.PoolCounts;
        var (granted, refused, failed) = _broker.Releases;
        return new WorkerStatistics(pool.Idle, pool.Leased, pool.ColdStarts, granted, refused, failed);
    }

    private async Task<EnclaveResponse> CreateTenantKeysAsync(string tenantId, CancellationToken cancellationToken)
    {
        var generated = await GenerateAsync(tenantId, NewTenantKeys, cancellationToken);
        return generated is GenerateKeysResponse keys ? new CreateTenantKeysResponse(keys.Keys) : BrokerFailed(generated);
    }

    private async Task<EnclaveResponse> RotateDataKeyAsync(RotateDataKeyRequest request, CancellationToken cancellationToken)
    {
        // Version 1 is created with the tenant; a rotation always adds a later one.
        if (request.NewVersion < 2)
        {
            return BadRequest("A rotation creates data key version 2 or later.");
        }

        var generated = await GenerateAsync(request.TenantId, [new KeySpec(KeyPurpose.Data, request.NewVersion)], cancellationToken);
        return generated is GenerateKeysResponse { Keys: [var key] } ? new RotateDataKeyResponse(key) : BrokerFailed(generated);
    }

    /// <summary>
    /// Crypto-shreds a deleted tenant here (keys zeroed and refused from now on, sessions forgotten, invocations stopped,
    /// sandboxes killed, packages deleted), then has the key broker record it, so no worker unwraps its keys again.
    /// Everything here is done even when the broker cannot be reached; the router then sends the request again.
    /// </summary>
    private async Task<EnclaveResponse> ForgetTenantAsync(string tenantId, CancellationToken cancellationToken)
    {
        var keys = await _keyring.ForgetTenantAsync(tenantId);
        var sessions = Identity?.Sessions.Forget(tenantId) ?? 0;
        var (invocations, functions) = await _functions.ForgetTenantAsync(tenantId);
        var shredded = await _broker.ShredAsync(tenantId, null, cancellationToken);
        return shredded is null
            ? new ForgetTenantResponse(keys, sessions, invocations, functions)
            : BrokerFailed(new BrokerErrorResponse(shredded));
    }

    /// <summary>Crypto-shreds one data-key version: zeroed here and refused from now on, then recorded by the key broker.</summary>
    private async Task<EnclaveResponse> RetireDataKeyAsync(RetireDataKeyRequest request, CancellationToken cancellationToken)
    {
        if (request.Version < 1)
        {
            return BadRequest("A retire request names a data key version of 1 or more.");
        }

        await _keyring.ForgetDataKeyAsync(request.TenantId, request.Version);
        var shredded = await _broker.ShredAsync(request.TenantId, request.Version, cancellationToken);
        return shredded is null ? new RetireDataKeyResponse() : BrokerFailed(new BrokerErrorResponse(shredded));
    }

    private async Task<EnclaveResponse> TokenizeAsync(TokenizeRequest request, CancellationToken cancellationToken)
    {
        if (request.KeyVersion < 1 || request.Items is null || request.Items.Any(item => item?.Value is null || item.Attempt < 0))
        {
            return BadRequest("A tokenize request needs a key version of 1 or more and items with a value and a non-negative attempt.");
        }

        var needed = new HashSet<KeyId> { KeyId.Fingerprint(request.TenantId) };
        foreach (var item in request.Items)
        {
            needed.Add(TokenFormats.Canonical(item.Format) == TokenFormats.Fpe
                ? KeyId.Fpe(request.TenantId)
                : KeyId.Data(request.TenantId, request.KeyVersion));
        }

        if (await LoadKeysAsync(request, needed, cancellationToken) is { } early)
        {
            return early;
        }

        if (!needed.All(_keyring.Contains))
        {
            return KeyUnavailable("The tenant's keys for this request are not among the keys the router attached.");
        }

        var results = new TokenizeResult[request.Items.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = _operations.Tokenize(request.TenantId, request.KeyVersion, request.Items[i]);
        }

        return new TokenizeResponse(results);
    }

    private async Task<EnclaveResponse> RevealAsync(RevealRequest request, CancellationToken cancellationToken)
    {
        if (!AreValid(request.Items))
        {
            return BadRequest("A reveal request needs items with a token.");
        }

        if (await LoadKeysAsync(request, KeysFor(request.TenantId, request.Items), cancellationToken) is { } early)
        {
            return early;
        }

        // Keys still missing after loading fail their own items (key-unavailable), not the batch.
        var results = new RevealResult[request.Items.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = _operations.Reveal(request.TenantId, request.Items[i]);
        }

        return new RevealResponse(results);
    }

    private async Task<EnclaveResponse> ReencryptAsync(ReencryptRequest request, CancellationToken cancellationToken)
    {
        if (request.ToVersion < 1 || !AreValid(request.Items))
        {
            return BadRequest("A re-encrypt request needs a target version of 1 or more and items with a token.");
        }

        var target = KeyId.Data(request.TenantId, request.ToVersion);
        var needed = KeysFor(request.TenantId, request.Items);
        needed.Add(target);
        if (await LoadKeysAsync(request, needed, cancellationToken) is { } early)
        {
            return early;
        }

        if (!_keyring.Contains(target))
        {
            return KeyUnavailable("The target data key version is not among the keys the router attached.");
        }

        var ciphertexts = new byte[]?[request.Items.Count];
        for (var i = 0; i < ciphertexts.Length; i++)
        {
            ciphertexts[i] = _operations.Reencrypt(request.TenantId, request.ToVersion, request.Items[i]);
        }

        return new ReencryptResponse(ciphertexts);
    }

    private async Task<EnclaveResponse> FingerprintAsync(FingerprintRequest request, CancellationToken cancellationToken)
    {
        if (request.Value is null)
        {
            return BadRequest("A fingerprint request needs a value.");
        }

        if (await LoadKeysAsync(request, [KeyId.Fingerprint(request.TenantId)], cancellationToken) is { } early)
        {
            return early;
        }

        var fingerprint = _operations.Fingerprint(request.TenantId, request.Value);
        return fingerprint is null
            ? KeyUnavailable("The tenant's fingerprint key is not among the keys the router attached.")
            : new FingerprintResponse(fingerprint);
    }

    private async Task<EnclaveResponse> SealedTokenizeAsync(SealedTokenizeRequest request, CancellationToken cancellationToken)
    {
        var (plain, refused) = SealedRequests.OpenTokenize(Identity, request);
        return plain is null ? refused! : await TokenizeAsync(plain, cancellationToken);
    }

    private async Task<EnclaveResponse> SealedRevealAsync(SealedRevealRequest request, CancellationToken cancellationToken)
    {
        var (plain, replyKey, refused) = SealedRequests.OpenReveal(Identity, request);
        if (plain is null)
        {
            return refused!;
        }

        using (replyKey)
        {
            return SealedRequests.SealReveal(replyKey!, plain.Items, await RevealAsync(plain, cancellationToken));
        }
    }

    private async Task<EnclaveResponse> InvokeAsync(InvokeFunctionRequest request, CancellationToken cancellationToken)
    {
        SealedReply? reply = null;
        if (request.SealedInput is not null)
        {
            (var plain, reply, var refused) = SealedRequests.OpenInvoke(Identity, request);
            if (plain is null)
            {
                return refused!;
            }

            request = plain;
        }

        // The reply key goes to the running invocation, which seals its completion with it; on every other way out
        // (a completion before the function starts is sealed here; other answers carry no value) it is zeroed here.
        var handedOver = false;
        try
        {
            var (function, args, early) = _functions.Prepare(request);
            if (early is InvocationCompletedResponse ended && reply is not null)
            {
                return reply.Seal(ended);
            }

            if (early is not null and not InvocationCompletedResponse)
            {
                return early;
            }

            // Everything an invocation may need: reveals (data keys, fpe) and new tokens (current data key, fingerprint);
            // the current data key also keeps its outcome, even one that ends before the function starts.
            KeyId[] needed = [KeyId.Data(request.TenantId, request.CurrentKeyVersion), KeyId.Fingerprint(request.TenantId), KeyId.Fpe(request.TenantId)];
            if (await LoadKeysAsync(request, needed, cancellationToken) is { } keys)
            {
                return keys;
            }

            if (!needed.All(_keyring.Contains))
            {
                return KeyUnavailable("The tenant's keys for this invocation are not among the keys the router attached.");
            }

            if (early is InvocationCompletedResponse failed)
            {
                return _functions.Finish(request, failed, null);
            }

            handedOver = true;
            return await _functions.StartAsync(request, function!, args!, reply, cancellationToken);
        }
        finally
        {
            if (!handedOver)
            {
                reply?.Dispose();
            }
        }
    }

    private async Task<EnclaveResponse> OpenInvocationOutcomeAsync(OpenInvocationOutcomeRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.InvocationId) || request.Outcome is not { KeyVersion: >= 1, Ciphertext: not null })
        {
            return BadRequest("An open request needs an invocation id and an outcome with a key version of 1 or more and a ciphertext.");
        }

        if (await LoadKeysAsync(request, [KeyId.Data(request.TenantId, request.Outcome.KeyVersion)], cancellationToken) is { } early)
        {
            return early;
        }

        return _outcomes.Open(request.TenantId, request);
    }

    /// <summary>
    /// Make sure the keyring holds <paramref name="needed"/>: null to proceed (which may still leave
    /// keys missing when the router did not attach them), otherwise the response to send instead.
    /// </summary>
    private async Task<EnclaveResponse?> LoadKeysAsync(EnclaveRequest request, IEnumerable<KeyId> needed, CancellationToken cancellationToken)
    {
        if (needed.All(_keyring.Contains))
        {
            return null;
        }

        if (request.Keys is null)
        {
            return new KeysRequiredResponse(request.TenantId);
        }

        // Everything attached that the keyring lacks, not only what this request needs: the router
        // attaches all of the tenant's keys, and holding them all saves the next round trip.
        var missing = request.Keys
            .Where(key => !_keyring.Contains(new KeyId(request.TenantId, key.Purpose, key.Version)))
            .ToList();
        if (missing.Count == 0)
        {
            return null;
        }

        var (keys, error) = await _broker.UnwrapAsync(request.TenantId, missing, cancellationToken);
        if (keys is null)
        {
            return error!.Code == KeyBrokerClient.NoIdentity ? KeyUnavailable(error.Detail) : BrokerFailed(new BrokerErrorResponse(error));
        }

        _keyring.Add(request.TenantId, keys);
        return null;
    }

    private Task<BrokerResponse> GenerateAsync(string tenantId, IReadOnlyList<KeySpec> keys, CancellationToken cancellationToken)
        => _broker.SendAsync(new GenerateKeysRequest(keys) { TenantId = tenantId }, cancellationToken);

    private static bool IsBulk(EnclaveRequest request) => request is TokenizeRequest { Items.Count: > 1 }
        or RevealRequest { Items.Count: > 1 }
        or ReencryptRequest
        or SealedTokenizeRequest { Items.Count: > 1 }
        or SealedRevealRequest { Items.Count: > 1 }
        or InvokeFunctionRequest { Package: not null }
        or OpenInvocationOutcomeRequest;

    private static HashSet<KeyId> KeysFor(string tenantId, IEnumerable<RevealItem> items)
    {
        var needed = new HashSet<KeyId>();
        foreach (var item in items)
        {
            if (TokenFormats.Canonical(item.Format) == TokenFormats.Fpe)
            {
                needed.Add(KeyId.Fpe(tenantId));
            }
            else if (item.Ciphertext is not null && item.KeyVersion >= 1)
            {
                needed.Add(KeyId.Data(tenantId, item.KeyVersion));
            }
        }

        return needed;
    }

    private static bool AreValid(IReadOnlyList<RevealItem>? items)
        => items is not null && items.All(item => item?.Token is not null);

    private static EnclaveErrorResponse BrokerFailed(BrokerResponse response)
    {
        // The broker's code is safe to pass on: no value ever reaches the broker.
        var code = response is BrokerErrorResponse error ? error.Error.Code : "unexpected-response";
        return KeyUnavailable($"The key broker did not complete the request ({code}).");
    }

    private static EnclaveErrorResponse KeyUnavailable(string detail) => Error(EnclaveErrorCodes.KeyUnavailable, detail);

    private static EnclaveErrorResponse BadRequest(string detail) => Error(EnclaveErrorCodes.BadRequest, detail);

    private static EnclaveErrorResponse Error(string code, string detail) => new(new EnclaveError(code, detail));
}
