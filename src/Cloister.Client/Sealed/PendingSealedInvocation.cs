using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Api.Contracts;
using Cloister.Crypto.Hpke;
using Cloister.Protocol;

namespace Cloister.Client.Sealed;

/// <summary>
/// A sealed invocation that was sent: its id and the reply key its outcome is sealed under. Dispose zeroes the key.
/// </summary>
public sealed class PendingSealedInvocation : IDisposable
{
    private readonly SealedReplyKey _replyKey;

    internal PendingSealedInvocation(string invocationId, string measurement, SealedReplyKey replyKey, InvocationSucceeded? syncResult)
    {
        InvocationId = invocationId;
        Measurement = measurement;
        _replyKey = replyKey;
        SyncResult = syncResult;
    }

    /// <summary>The router's invocation id.</summary>
    public string InvocationId { get; }

    /// <summary>The pinned measurement.</summary>
    public string Measurement { get; }

    internal InvocationSucceeded? SyncResult { get; }

    /// <summary>Opens a finished invocation's stored result (<see cref="InvocationInfo.Result"/> of GET /v1/invocations/{id}).</summary>
    /// <exception cref="SealedInvocationException">The function ran and failed.</exception>
    /// <exception cref="SealedResponseException">The result is not a sealed result that opens with this invocation's key.</exception>
    public SealedInvocationResult Open(InvocationInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.Result is not { } result)
        {
            throw new SealedResponseException($"The invocation has no sealed result (status {info.Status}{(info.Error is { } e ? ", " + e.Code : "")}).");
        }

        return Open(info.InvocationId, result, info.Version, info.Warm, info.DurationMs);
    }

    internal SealedInvocationResult Open(string invocationId, string resultJson, int version, bool warm, long? durationMs)
    {
        SealedInvocationOutput? output;
        try
        {
            output = JsonSerializer.Deserialize(resultJson, ClientJsonContext.TypeOf<SealedInvocationOutput>());
        }
        catch (JsonException)
        {
            output = null;
        }

        if (output?.SealedResult is not { } box)
        {
            throw new SealedResponseException("The invocation's result is not a sealed result.");
        }

        var opened = CloisterClient.Open(_replyKey, SealedPayloads.InvokeResultAad(Measurement), box);
        var outcome = SealedPayloads.DecodeInvokeResult(opened);
        CryptographicOperations.ZeroMemory(opened);
        if (outcome is null)
        {
            throw new SealedResponseException("The sealed invocation result is malformed.");
        }

        if (outcome.Error is { } error)
        {
            throw new SealedInvocationException(invocationId, error.Code, error.Detail, outcome.Logs);
        }

        return new SealedInvocationResult(invocationId, Measurement, outcome.Result!.Value, outcome.Logs, version, warm, durationMs);
    }

    /// <summary>Zeroes the reply key.</summary>
    public void Dispose() => _replyKey.Dispose();
}
