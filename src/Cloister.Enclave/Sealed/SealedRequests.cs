using System.Security.Cryptography;
using System.Text;
using Cloister.Crypto.Hpke;
using Cloister.Enclave.Attestation;
using Cloister.Protocol;

namespace Cloister.Enclave.Sealed;

/// <summary>
/// The worker's side of sealed operations: attests for clients, opens what clients sealed to the worker's key
/// (turning a sealed request into the plain request the host already knows how to run) and seals the answers under the
/// request's reply key (<see cref="SealedReplyKey"/>), which only the client that sealed the request can derive. Every refusal is an error code with a detail that names no value.
/// </summary>
internal static class SealedRequests
{
    /// <summary>Evidence binding the client's nonce, the worker's key and measurement, and the tenant's functions.</summary>
    public static async Task<EnclaveResponse> AttestAsync(WorkerIdentity? identity, AttestationRequest request, CancellationToken cancellationToken)
    {
        if (identity is null)
        {
            return Unavailable();
        }

        if (request.Nonce is null || request.Nonce.Length is < Protocol.Attestation.WorkerClaims.MinNonceBytes or > Protocol.Attestation.WorkerClaims.MaxNonceBytes
            || request.Functions is null || request.Functions.Any(f => f is not { Length: Protocol.Attestation.WorkerClaims.MeasurementHexLength } || !f.All(char.IsAsciiHexDigitLower)))
        {
            return Error(EnclaveErrorCodes.BadRequest, "An attestation request needs a 16..64-byte nonce and function measurements of 96 lower-case hex digits.");
        }

        var attestation = await identity.AttestAsync(request.Nonce, request.Functions, cancellationToken).ConfigureAwait(false);
        var evidence = attestation.Evidence;
        return new AttestationResponse(evidence.Tee, evidence.Bytes, evidence.Certificates, attestation.Claims);
    }

    /// <summary>The plain tokenize request inside a sealed one, or the refusal.</summary>
    public static (TokenizeRequest? Plain, EnclaveResponse? Refused) OpenTokenize(WorkerIdentity? identity, SealedTokenizeRequest request)
    {
        if (identity is null)
        {
            return (null, Unavailable());
        }

        if (request.Items is null || request.Items.Any(i => i?.SealedValue is null || i.Format is null || i.Classifier is null))
        {
            return (null, Error(EnclaveErrorCodes.BadRequest, "A sealed tokenize request needs items with a sealed value, a format and a classifier."));
        }

        var items = new TokenizeItem[request.Items.Count];
        SealedSession? session = null;
        for (var i = 0; i < items.Length; i++)
        {
            var item = request.Items[i];
            var aad = SealedPayloads.TokenizeAad(item.Format, item.Alphabet, item.Classifier, item.Deterministic);
            var (plaintext, replyKey, started, refused) = OpenBox(identity, SealedPayloads.TokenizePurpose, aad, item.SealedValue,
                $"Item {i}: the sealed value does not open with this worker's key and the item's format, alphabet, classifier and deterministic flag.", request.TenantId, session);
            replyKey?.Dispose();
            if (plaintext is null)
            {
                return (null, refused);
            }

            session ??= started;

            string value;
            try
            {
                value = new UTF8Encoding(false, true).GetString(plaintext);
            }
            catch (DecoderFallbackException)
            {
                return (null, Error(EnclaveErrorCodes.InvalidValue, $"Item {i}: the sealed value is not UTF-8."));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }

            // fpe tokens are deterministic whatever the client asked (as on the unsealed route).
            var deterministic = item.Deterministic || TokenFormats.Canonical(item.Format) == TokenFormats.Fpe;
            items[i] = new TokenizeItem(value, item.Format, item.Alphabet, item.Classifier, deterministic, item.Attempt, item.ScanStart);
        }

        // One session per request at most, and only for a request that opened whole (the client's first HPKE item).
        identity.Sessions.Add(request.TenantId, session);
        return (new TokenizeRequest(request.KeyVersion, items) { TenantId = request.TenantId, Keys = request.Keys }, null);
    }

    /// <summary>The plain reveal request and the key its answer is sealed under, or the refusal.</summary>
    public static (RevealRequest? Plain, SealedReplyKey? ReplyKey, EnclaveResponse? Refused) OpenReveal(WorkerIdentity? identity, SealedRevealRequest request)
    {
        if (identity is null)
        {
            return (null, null, Unavailable());
        }

        if (request.Items is null || request.Items.Any(i => i?.Token is null) || request.SealedRequest is null)
        {
            return (null, null, Error(EnclaveErrorCodes.BadRequest, "A sealed reveal request needs token records and the sealed request."));
        }

        const string Invalid = "The sealed reveal request does not open with this worker's key, or is not a reveal request.";
        var (opened, replyKey, started, refused) = OpenBox(identity, SealedPayloads.RevealPurpose, [], request.SealedRequest, Invalid, request.TenantId);
        if (opened is null)
        {
            return (null, null, refused);
        }

        var payload = SealedPayloads.DecodeRevealPayload(opened);
        CryptographicOperations.ZeroMemory(opened);
        if (payload is null)
        {
            replyKey!.Dispose();
            return (null, null, Error(SealedErrorCodes.SealedBoxInvalid, Invalid));
        }

        if (!payload.Tokens.SequenceEqual(request.Items.Select(i => i.Token), StringComparer.Ordinal))
        {
            replyKey!.Dispose();
            return (null, null, Error(SealedErrorCodes.TokensMismatch, "The token records the router sent are not the tokens the client sealed."));
        }

        identity.Sessions.Add(request.TenantId, started);
        return (new RevealRequest(request.Items) { TenantId = request.TenantId, Keys = request.Keys }, replyKey, null);
    }

    /// <summary>Seals a plain reveal's values under the request's reply key (the caller disposes it).</summary>
    public static EnclaveResponse SealReveal(SealedReplyKey replyKey, IReadOnlyList<RevealItem> items, EnclaveResponse plain)
    {
        if (plain is not RevealResponse revealed)
        {
            return plain;
        }

        var values = items.Zip(revealed.Results, (item, r) => new SealedRevealedValue(item.Token, r.Value, r.Error?.Code)).ToList();
        var json = SealedPayloads.Encode(new SealedRevealResult(values));
        try
        {
            var box = replyKey.Seal(SealedPayloads.TokensAad(items.Select(i => i.Token)), json);
            return new SealedRevealResponse(box, [.. revealed.Results.Select(r => r.Error?.Code)]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    /// <summary>
    /// For a sealed invoke: the request with the client's args, and the reply that seals its outcome; or the refusal
    /// (the box does not open, or it pins another function or measurement than the version the router runs).
    /// </summary>
    public static (InvokeFunctionRequest? Plain, SealedReply? Reply, EnclaveResponse? Refused) OpenInvoke(WorkerIdentity? identity, InvokeFunctionRequest request)
    {
        if (identity is null)
        {
            return (null, null, Unavailable());
        }

        const string Invalid = "The sealed invocation does not open with this worker's key, or is not an invocation.";
        var (opened, replyKey, started, refused) = OpenBox(identity, SealedPayloads.InvokePurpose, [], request.SealedInput!, Invalid, request.TenantId);
        if (opened is null)
        {
            return (null, null, refused);
        }

        var payload = SealedPayloads.DecodeInvokePayload(opened);
        CryptographicOperations.ZeroMemory(opened);
        if (payload is null)
        {
            replyKey!.Dispose();
            return (null, null, Error(SealedErrorCodes.SealedBoxInvalid, Invalid));
        }

        if (request.Function is null || payload.Function != request.Function.Name || payload.Measurement != request.Function.Measurement)
        {
            replyKey!.Dispose();
            return (null, null, Error(SealedErrorCodes.PinMismatch, "The client pinned another function or measurement than the deployed version the router asked to run; the function has changed since the client attested."));
        }

        identity.Sessions.Add(request.TenantId, started);
        return (request with { ArgsJson = payload.Args.GetRawText() }, new SealedReply(replyKey!, payload.Measurement), null);
    }

    /// <summary>
    /// A request box's plaintext (which the caller zeroes) and the key its answer is sealed under (which the caller
    /// disposes), or the refusal. An HPKE box starts a session (<c>Started</c>) that the caller remembers once it accepts
    /// the request, so the client may seal its next requests in it; a session box opens with the session it names, and a
    /// session this worker does not know (it restarted, or forgot it) is <see cref="SealedErrorCodes.SessionUnknown"/>,
    /// on which clients seal to the worker's key again. Sessions are the tenant's (<paramref name="tenantId"/>): one started
    /// in another tenant's request is unknown here. <paramref name="startedHere"/> is a session an earlier box of the
    /// same request started (a batch's first item), which the later items may already use.
    /// </summary>
    private static (byte[]? Plaintext, SealedReplyKey? ReplyKey, SealedSession? Started, EnclaveErrorResponse? Refused) OpenBox(
        WorkerIdentity identity, string purpose, byte[] aad, byte[] box, string invalidDetail, string tenantId, SealedSession? startedHere = null)
    {
        try
        {
            if (SealedSession.IdOf(box) is { } sessionId)
            {
                var session = startedHere?.IdHex == sessionId ? startedHere : identity.Sessions.Find(tenantId, sessionId);
                if (session is null)
                {
                    return (null, null, null, Error(SealedErrorCodes.SessionUnknown, "The sealed box names a session this worker does not know (it restarted or forgot it); seal to the worker's attested key again."));
                }

                var opened = session.Open(purpose, aad, box, out var sessionReplyKey);
                return (opened, sessionReplyKey, null, null);
            }

            var plaintext = SealedBox.Open(identity.KeyPair, purpose, aad, box, out var replyKey, out var started);
            return (plaintext, replyKey, started, null);
        }
        catch (CryptographicException)
        {
            return (null, null, null, Error(SealedErrorCodes.SealedBoxInvalid, invalidDetail));
        }
    }

    private static EnclaveErrorResponse Unavailable()
        => Error(SealedErrorCodes.AttestationUnavailable, "This worker runs without an attested identity; sealed operations are unavailable.");

    private static EnclaveErrorResponse Error(string code, string detail) => new(new EnclaveError(code, detail));
}
