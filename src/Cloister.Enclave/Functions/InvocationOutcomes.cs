using System.Security.Cryptography;
using Cloister.Protocol;

namespace Cloister.Enclave.Functions;

/// <summary>
/// What the router keeps of an unsealed invocation, and the reading of it back: the outcome (the JSON result, or the
/// error with its detail, which may quote a value the handler saw) as a <see cref="SealedInvokeResult"/> encrypted under
/// the tenant's data key (<see cref="ValueCrypto.SealOutcome"/>), so that the store never holds a value in clear.
/// </summary>
/// <remarks>
/// The logs are not kept: nothing reads them back (they reach only the caller of a synchronous invocation). An outcome
/// stays under the data-key version that was current when the invocation ended; older versions keep opening it, so a
/// rotation needs no re-encryption of outcomes, which expire with their invocation.
/// </remarks>
internal sealed class InvocationOutcomes(Keyring keyring)
{
    /// <summary>
    /// <paramref name="completion"/> with its outcome encrypted under data key <paramref name="keyVersion"/>; unchanged
    /// when that key is not loaded (the router refuses a completion without a kept outcome and records it as internal).
    /// </summary>
    public InvocationCompletedResponse Keep(string tenantId, int keyVersion, InvocationCompletedResponse completion)
    {
        using var lease = keyring.DataKey(tenantId, keyVersion);
        if (lease.Key is not { } key)
        {
            return completion;
        }

        var json = EncodePayload(completion, []);
        try
        {
            return completion with { Stored = new StoredOutcome(keyVersion, ValueCrypto.SealOutcome(key, tenantId, completion.InvocationId, keyVersion, json)) };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    /// <summary>Opens a kept outcome of the tenant's invocation; the caller has loaded its key version when it can.</summary>
    public EnclaveResponse Open(string tenantId, OpenInvocationOutcomeRequest request)
    {
        var outcome = request.Outcome;
        using var lease = keyring.DataKey(tenantId, outcome.KeyVersion);
        if (lease.Key is not { } key)
        {
            return new EnclaveErrorResponse(new EnclaveError(EnclaveErrorCodes.KeyUnavailable, "The tenant's data key of this version is not loaded."));
        }

        if (!ValueCrypto.TryOpenOutcome(key, tenantId, request.InvocationId, outcome.KeyVersion, outcome.Ciphertext, out var json))
        {
            return new EnclaveErrorResponse(new EnclaveError(EnclaveErrorCodes.DecryptFailed, "The kept outcome does not open for this tenant, invocation and key version."));
        }

        try
        {
            // Authenticated, so written by this code: a payload that does not decode is a bug, not tampering.
            return SealedPayloads.DecodeInvokeResult(json!) is { } opened
                ? new InvocationOutcomeResponse(opened.Result?.GetRawText(), opened.Error is { } error ? new EnclaveError(error.Code, error.Detail) : null)
                : new EnclaveErrorResponse(new EnclaveError(EnclaveErrorCodes.Internal, "The kept outcome opened but is malformed."));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    /// <summary>
    /// A completion's outcome, encoded, as the payload of a sealed reply or a kept outcome: its result, else its error. The
    /// result is JSON text the output policy wrote, so it is written as it is, not parsed into a document again.
    /// </summary>
    public static byte[] EncodePayload(InvocationCompletedResponse completion, IReadOnlyList<string> logs)
    {
        var error = completion.ResultJson is not null ? null
            : completion.Error ?? new EnclaveError(EnclaveErrorCodes.Internal, "The invocation ended without a JSON result.");
        return SealedPayloads.EncodeInvokeResult(completion.ResultJson, error is null ? null : new SealedInvokeError(error.Code, error.Detail), logs);
    }
}
