namespace Cloister.Client.Sealed;

/// <summary>
/// The client refused to send a sealed request: the worker's attestation did not verify against the policy. Nothing
/// was sent after the attestation request. The message names the check, never a value.
/// </summary>
public sealed class AttestationRefusedException(string reason, string message) : Exception(message)
{
    /// <summary>Which check failed (see <see cref="RefusalReasons"/>).</summary>
    public string Reason { get; } = reason;
}

/// <summary>Why a client refused an attestation.</summary>
public static class RefusalReasons
{
    /// <summary>The evidence's TEE type is unknown.</summary>
    public const string Tee = "tee";

    /// <summary>The claims are not canonical claims, or are not base64.</summary>
    public const string Claims = "claims";

    /// <summary>The evidence does not verify under the policy (signature, chain, debug, TEE not allowed, report data not SHA-512 of the claims).</summary>
    public const string Evidence = "evidence";

    /// <summary>The claims carry another nonce than the one just sent (a replayed attestation).</summary>
    public const string Nonce = "nonce";

    /// <summary>The server's public key is not the one in the verified claims.</summary>
    public const string PublicKey = "public-key";

    /// <summary>The policy trusts no worker with the claims' worker measurement.</summary>
    public const string WorkerMeasurement = "worker-measurement";

    /// <summary>The function measurement to pin is unknown, not accepted by the policy, or not served by the worker.</summary>
    public const string FunctionMeasurement = "function-measurement";
}

/// <summary>A sealed invocation ran and failed; its code and detail arrived sealed.</summary>
public sealed class SealedInvocationException(string invocationId, string code, string detail, IReadOnlyList<string> logs)
    : Exception($"{code}: {detail}")
{
    /// <summary>The invocation.</summary>
    public string InvocationId { get; } = invocationId;

    /// <summary>The stable error code.</summary>
    public string Code { get; } = code;

    /// <summary>The handler's log lines.</summary>
    public IReadOnlyList<string> Logs { get; } = logs;
}

/// <summary>A sealed answer did not open with the client's key, or is not what was asked for.</summary>
public sealed class SealedResponseException(string message) : Exception(message);
