using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Crypto.Hpke;
using Cloister.Protocol;

namespace Cloister.Enclave.Sealed;

/// <summary>
/// Seals a sealed invocation's outcome (result or error, and the logs) to the client's response key, so that the
/// router learns only that it ended.
/// </summary>
internal sealed class SealedReply(byte[] responseKey, string measurement)
{
    /// <summary>The completion to publish instead of <paramref name="completion"/>: only the sealed outcome and the revealed tokens (for the audit log).</summary>
    public InvocationCompletedResponse Seal(InvocationCompletedResponse completion)
    {
        var result = completion.ResultJson is { } resultJson ? TryParse(resultJson) : null;
        var error = result is not null ? null
            : completion.Error ?? new EnclaveError(EnclaveErrorCodes.Internal, "The invocation ended without a JSON result.");
        var outcome = new SealedInvokeResult(result, error is null ? null : new SealedInvokeError(error.Code, error.Detail), completion.Logs ?? []);

        var json = SealedPayloads.Encode(outcome);
        try
        {
            var box = SealedBox.Seal(responseKey, SealedPayloads.InvokeResultPurpose, SealedPayloads.InvokeResultAad(measurement), json);
            return new InvocationCompletedResponse(completion.InvocationId, null, null, completion.Warm, [], completion.RevealedTokens ?? [], box);
        }
        catch (CryptographicException)
        {
            // A response key that is no point on the curve: nothing can be sent to the client, and nothing in clear.
            return new InvocationCompletedResponse(completion.InvocationId, null, new EnclaveError(SealedErrorCodes.SealedBoxInvalid, "The client's response key is not a valid P-256 public key."), completion.Warm, [], completion.RevealedTokens ?? []);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    private static JsonElement? TryParse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
