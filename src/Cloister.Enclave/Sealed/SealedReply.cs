using System.Security.Cryptography;
using Cloister.Crypto.Hpke;
using Cloister.Enclave.Functions;
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
        var json = InvocationOutcomes.EncodePayload(completion, completion.Logs ?? []);
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
}
