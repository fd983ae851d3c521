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

    public static string TitleOf(string code) => code switch
    {
        "handler-error" => "The function failed",
        "timeout" => "The function timed out",
        "memory-limit" or "cpu-limit" or "pids-limit" or "output-limit" => "The function exceeded a limit",
        "runner-crashed" or "malformed-frame" or "protocol-violation" or "frame-too-large" => "The function's runner broke the protocol",
        Problems.MessageTooLargeCode => "Too large for the enclave link",
        FunctionErrorCodes.UnknownToken => "Unknown token",
        FunctionErrorCodes.ClassifierNotPermitted => "Classifier not permitted",
        FunctionErrorCodes.InvalidArgs => "Invalid args",
        FunctionErrorCodes.PlaintextInOutput => "Plaintext in output",
        FunctionErrorCodes.TokenizeOutputFailed => "Output tokenization failed",
        FunctionErrorCodes.SandboxUnavailable => "Sandbox unavailable",
        EnclaveErrorCodes.KeyUnavailable => "Keys unavailable",
        InvocationService.InterruptedCode => "Invocation interrupted",
        SealedErrorCodes.AttestationUnavailable => "Attestation unavailable",
        SealedErrorCodes.SealedBoxInvalid => "Sealed box refused",
        SealedErrorCodes.SessionUnknown => "Sealed session unknown",
        SealedErrorCodes.PinMismatch => "Pinned measurement does not match",
        Problems.WorkerUnavailableCode => "Enclave worker unavailable",
        _ => "Invocation failed",
    };
}
