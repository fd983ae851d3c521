using Cloister.Protocol;
using Cloister.Server.Http;

namespace Cloister.Server.Functions;

/// <summary>How invocation error codes map to HTTP: the function's fault (422), the platform cannot run it now (503), or a bug (500).</summary>
internal static class InvocationErrors
{
    /// <summary>Codes caused by the function or its input: the sandbox's own codes and the enclave's policy checks.</summary>
    private static readonly HashSet<string> FunctionCaused = new(StringComparer.Ordinal)
    {
        "handler-error", "timeout", "memory-limit", "cpu-limit", "pids-limit", "output-limit", "runner-crashed",
        "malformed-frame", "protocol-violation", "frame-too-large", Problems.MessageTooLargeCode,
        FunctionErrorCodes.UnknownToken, FunctionErrorCodes.ClassifierNotPermitted, FunctionErrorCodes.InvalidArgs,
        FunctionErrorCodes.PlaintextInOutput, FunctionErrorCodes.TokenizeOutputFailed,
    };

    public static int StatusOf(string code) => code switch
    {
        _ when FunctionCaused.Contains(code) => StatusCodes.Status422UnprocessableEntity,
        FunctionErrorCodes.SandboxUnavailable or EnclaveErrorCodes.KeyUnavailable or InvocationService.InterruptedCode or Problems.WorkerUnavailableCode
            or SealedErrorCodes.AttestationUnavailable => StatusCodes.Status503ServiceUnavailable,
        SealedErrorCodes.SealedBoxInvalid or SealedErrorCodes.SessionUnknown => StatusCodes.Status400BadRequest,
        SealedErrorCodes.PinMismatch => StatusCodes.Status409Conflict,
        _ => StatusCodes.Status500InternalServerError,
    };

    // Every code the router knows, with its title; LabelOf lets only these into a metric.
    private static readonly Dictionary<string, string> Titles = new(StringComparer.Ordinal)
    {
        ["handler-error"] = "The function failed",
        ["timeout"] = "The function timed out",
        ["memory-limit"] = "The function exceeded a limit",
        ["cpu-limit"] = "The function exceeded a limit",
        ["pids-limit"] = "The function exceeded a limit",
        ["output-limit"] = "The function exceeded a limit",
        ["runner-crashed"] = "The function's runner broke the protocol",
        ["malformed-frame"] = "The function's runner broke the protocol",
        ["protocol-violation"] = "The function's runner broke the protocol",
        ["frame-too-large"] = "The function's runner broke the protocol",
        [Problems.MessageTooLargeCode] = "Too large for the enclave link",
        [FunctionErrorCodes.UnknownToken] = "Unknown token",
        [FunctionErrorCodes.ClassifierNotPermitted] = "Classifier not permitted",
        [FunctionErrorCodes.InvalidArgs] = "Invalid args",
        [FunctionErrorCodes.PlaintextInOutput] = "Plaintext in output",
        [FunctionErrorCodes.TokenizeOutputFailed] = "Output tokenization failed",
        [FunctionErrorCodes.SandboxUnavailable] = "Sandbox unavailable",
        [EnclaveErrorCodes.KeyUnavailable] = "Keys unavailable",
        [EnclaveErrorCodes.Internal] = "Invocation failed",
        [InvocationService.InterruptedCode] = "Invocation interrupted",
        [SealedErrorCodes.AttestationUnavailable] = "Attestation unavailable",
        [SealedErrorCodes.SealedBoxInvalid] = "Sealed box refused",
        [SealedErrorCodes.SessionUnknown] = "Sealed session unknown",
        [SealedErrorCodes.PinMismatch] = "Pinned measurement does not match",
        [Problems.WorkerUnavailableCode] = "Enclave worker unavailable",
    };

    public static string TitleOf(string code) => Titles.GetValueOrDefault(code, "Invocation failed");

    /// <summary>
    /// The error code as a metric label: <c>none</c> for no error, the code when the router knows it, else <c>other</c>
    /// (a code is the worker's text, and a label must come from a closed set).
    /// </summary>
    public static string LabelOf(string? code) => code is null ? "none" : Titles.ContainsKey(code) ? code : "other";
}
