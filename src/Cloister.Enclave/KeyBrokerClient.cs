using System.Security.Cryptography;
using Cloister.Crypto.Hpke;
using Cloister.Enclave.Attestation;
using Cloister.Protocol;

namespace Cloister.Enclave;

/// <summary>
/// The enclave's typed view of the key broker: encodes requests, sends them, decodes responses, and runs the
/// attestation exchange transparently when keys are to be released.
/// </summary>
/// <remarks>
/// Unwrapping needs an attested session: the client attests (challenge → evidence over claims carrying the
/// nonce and the worker's HPKE public key → session) when it has none, and once more when the broker answers
/// <c>attestation-required</c> (the session expired or the broker restarted). Released keys arrive sealed to
/// the worker's public key and are opened with its private key; the opened buffers are zeroed.
/// </remarks>
internal sealed class KeyBrokerClient(IFrameTransport transport, WorkerIdentity? identity) : IDisposable
{
    /// <summary>The code returned when the worker has no identity to attest with.</summary>
    public const string NoIdentity = "no-worker-identity";

    private readonly SemaphoreSlim _attesting = new(1, 1);
    private string? _session;
    private long _granted;
    private long _refused;
    private long _failed;

    /// <summary>Key releases so far: granted, refused by the broker, and failed without its answer (the health answer reports them).</summary>
    public (long Granted, long Refused, long Failed) Releases => (Interlocked.Read(ref _granted), Interlocked.Read(ref _refused), Interlocked.Read(ref _failed));

    /// <summary>Send a request; transport failures and unreadable frames become <see cref="BrokerErrorResponse"/>.</summary>
    public async Task<BrokerResponse> SendAsync(BrokerRequest request, CancellationToken cancellationToken)
    {
        byte[] frame;
        try
        {
            frame = await transport.SendAsync(Frames.Broker.Encode(request), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            return Error(BrokerErrorCodes.Internal, "The key broker could not be reached.");
        }

        return Frames.Broker.DecodeResponse(frame) ?? Error(BrokerErrorCodes.Internal, "The key broker sent an unreadable response.");
    }

    /// <summary>
    /// Have the broker release <paramref name="keys"/> of <paramref name="tenantId"/> to this worker: the opened keys
    /// (the caller takes ownership and zeroes them), or the error that stopped the release.
    /// </summary>
    public async Task<(IReadOnlyList<UnwrappedKey>? Keys, BrokerError? Error)> UnwrapAsync(string tenantId, IReadOnlyList<WrappedKey> keys, CancellationToken cancellationToken)
    {
        var (response, session, error) = await SendInSessionAsync(session => new UnwrapKeysRequest(keys, session) { TenantId = tenantId }, cancellationToken);
        (IReadOnlyList<UnwrappedKey>? Keys, BrokerError? Error) released = response switch
        {
            null => (null, error),
            UnwrapKeysResponse { SealedKeys: { } sealedKeys } => Open(identity!, tenantId, session!, sealedKeys),
            BrokerErrorResponse refused => (null, refused.Error),
            _ => (null, new BrokerError(BrokerErrorCodes.Internal, "The key broker answered an unwrap with something else.")),
        };
        Interlocked.Increment(ref released.Error is null ? ref _granted : ref released.Error.Code is BrokerErrorCodes.Internal or NoIdentity ? ref _failed : ref _refused);
        return released;
    }

    /// <summary>
    /// Have the broker record the tenant's keys (or one data-key version) as never to be unwrapped again: null once it
    /// has, otherwise the error that stopped it.
    /// </summary>
    public async Task<BrokerError?> ShredAsync(string tenantId, int? dataKeyVersion, CancellationToken cancellationToken)
    {
        var (response, _, error) = await SendInSessionAsync(session => new ShredKeysRequest(dataKeyVersion, session) { TenantId = tenantId }, cancellationToken);
        return response switch
        {
            null => error,
            ShredKeysResponse => null,
            BrokerErrorResponse refused => refused.Error,
            _ => new BrokerError(BrokerErrorCodes.Internal, "The key broker answered a shred request with something else."),
        };
    }

    /// <summary>
    /// Sends the request <paramref name="create"/> makes for an attested session, attesting first when there is none
    /// and once more when the broker answers <c>attestation-required</c> (the session expired or the broker restarted):
    /// the broker's answer and the session it was sent in, or the error that kept it from being sent.
    /// </summary>
    private async Task<(BrokerResponse? Response, string? Session, BrokerError? Error)> SendInSessionAsync(Func<string, BrokerRequest> create, CancellationToken cancellationToken)
    {
        if (identity is null)
        {
            return (null, null, new BrokerError(NoIdentity, "This worker has no attestation identity; the key broker releases keys only to an attested worker."));
        }

        for (var attempt = 0; ; attempt++)
        {
            var session = _session;
            if (session is null)
            {
                var attested = await AttestAsync(identity, cancellationToken);
                if (attested.Error is not null)
                {
                    return (null, null, attested.Error);
                }

                session = attested.Session!;
            }

            var response = await SendAsync(create(session), cancellationToken);
            if (response is BrokerErrorResponse { Error.Code: BrokerErrorCodes.AttestationRequired } && attempt == 0)
            {
                Interlocked.CompareExchange(ref _session, null, session);
                continue;
            }

            return (response, session, null);
        }
    }

    private async Task<(string? Session, BrokerError? Error)> AttestAsync(WorkerIdentity worker, CancellationToken cancellationToken)
    {
        // One attestation at a time: concurrent key loads share the session the first one obtains.
        var previous = _session;
        await _attesting.WaitAsync(cancellationToken);
        try
        {
            if (_session is { } fresh && !ReferenceEquals(fresh, previous))
            {
                return (fresh, null);
            }

            if (await SendAsync(new ChallengeRequest(), cancellationToken) is not ChallengeResponse { Nonce: { } nonce })
            {
                return (null, new BrokerError(BrokerErrorCodes.Internal, "The key broker did not issue a challenge."));
            }

            var attestation = await worker.AttestAsync(nonce, [], cancellationToken);
            var evidence = attestation.Evidence;
            var response = await SendAsync(new AttestRequest(nonce, evidence.Tee, evidence.Bytes, evidence.Certificates, attestation.Claims), cancellationToken);
            switch (response)
            {
                case AttestResponse { Session: { } session }:
                    _session = session;
                    return (session, null);
                case BrokerErrorResponse error:
                    return (null, error.Error);
                default:
                    return (null, new BrokerError(BrokerErrorCodes.Internal, "The key broker answered an attestation with something else."));
            }
        }
        finally
        {
            _attesting.Release();
        }
    }

    private static (IReadOnlyList<UnwrappedKey>? Keys, BrokerError? Error) Open(WorkerIdentity worker, string tenantId, string session, byte[] sealedKeys)
    {
        byte[] plaintext;
        try
        {
            plaintext = SealedBox.Open(worker.KeyPair, BrokerKeySet.SealPurpose, BrokerKeySet.AssociatedData(tenantId, session), sealedKeys);
        }
        catch (CryptographicException)
        {
            return (null, new BrokerError(BrokerErrorCodes.Internal, "The released keys did not open with this worker's key."));
        }

        try
        {
            return BrokerKeySet.TryDecode(plaintext, out var keys)
                ? (keys, null)
                : (null, new BrokerError(BrokerErrorCodes.Internal, "The released key set is malformed."));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    public void Dispose() => _attesting.Dispose();

    private static BrokerErrorResponse Error(string code, string detail) => new(new BrokerError(code, detail));
}
