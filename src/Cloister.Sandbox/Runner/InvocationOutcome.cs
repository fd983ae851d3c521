using System.Text.Json;

namespace Cloister.Sandbox.Runner;

/// <summary>Stable error codes of an invocation; they are part of the public API and of the audit log.</summary>
public static class InvocationErrorCodes
{
    /// <summary>The handler raised or threw, failed to load, or returned something that is not JSON.</summary>
    public const string HandlerError = "handler-error";

    /// <summary>The runner exited or closed its output before answering.</summary>
    public const string RunnerCrashed = "runner-crashed";

    /// <summary>The runner sent bytes that are not a JSON object frame.</summary>
    public const string MalformedFrame = "malformed-frame";

    /// <summary>A frame (from the runner, or the event to it) exceeds the maximum frame size.</summary>
    public const string FrameTooLarge = "frame-too-large";

    /// <summary>The invocation did not finish within its wall-clock timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>The runner sent a well-formed frame that is not allowed at that point.</summary>
    public const string ProtocolViolation = "protocol-violation";
}

/// <summary>Why an invocation failed: a stable <see cref="Code"/> and a message that never contains revealed values.</summary>
public sealed record InvocationError(string Code, string Message);

/// <summary>The result of one invocation: either a JSON result or an <see cref="InvocationError"/>.</summary>
public sealed class InvocationOutcome
{
    private readonly JsonElement _result;

    private InvocationOutcome(JsonElement result, InvocationError? error)
    {
        _result = result;
        Error = error;
    }

    /// <summary>Whether the handler returned a result.</summary>
    public bool IsSuccess => Error is null;

    /// <summary>The handler's result (a detached clone; <c>null</c> in JSON is <see cref="JsonValueKind.Null"/>).</summary>
    /// <exception cref="InvalidOperationException">The invocation failed.</exception>
    public JsonElement Result => IsSuccess ? _result : throw new InvalidOperationException("The invocation failed; see Error.");

    /// <summary>Why the invocation failed, or <c>null</c> on success.</summary>
    public InvocationError? Error { get; }

    /// <summary>A successful outcome.</summary>
    public static InvocationOutcome Success(JsonElement result) => new(result.Clone(), null);

    /// <summary>A failed outcome.</summary>
    public static InvocationOutcome Failure(string code, string message) => new(default, new InvocationError(code, message));

    /// <inheritdoc />
    public override string ToString() => IsSuccess ? $"result {_result.GetRawText()}" : $"{Error!.Code}: {Error.Message}";
}
