using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Crypto.Hpke;
using Cloister.Protocol;

namespace Cloister.Enclave.Sealed;

/// <summary>
/// Seals a sealed invocation's outcome (result or error, and the logs) under the request's reply key, so that the
/// router learns only that it ended. The key is used once: <see cref="Seal"/> zeroes it, and so does Dispose when the
/// invocation ends before it runs.
/// </summary>
internal sealed class SealedReply(SealedReplyKey replyKey, string measurement) : IDisposable
{
    /// <summary>The completion to publish instead of <paramref name="completion"/>: only the sealed outcome and the revealed tokens (for the audit log).</summary>
    public InvocationCompletedResponse Seal(InvocationCompletedResponse completion)
    {
        using var key = replyKey;
        var result = completion.ResultJson is { } resultJson ? TryParse(resultJson) : null;
        var error = result is not null ? null
            : completion.Error ?? new EnclaveError(EnclaveErrorCodes.Internal, "The invocation ended without a JSON result.");
        var outcome = new SealedInvokeResult(result, error is null ? null : new SealedInvokeError(error.Code, error.Detail), completion.Logs ?? []);

        var json = SealedPayloads.Encode(outcome);
        try
        {
            var box = key.Seal(SealedPayloads.InvokeResultAad(measurement), json);
            return new InvocationCompletedResponse(completion.InvocationId, null, null, completion.Warm, [], completion.RevealedTokens ?? [], box);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    /// <summary>Zeroes the reply key.</summary>
    public void Dispose() => replyKey.Dispose();

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
