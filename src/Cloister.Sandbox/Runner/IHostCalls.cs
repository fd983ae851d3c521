using System.Text.Json;

namespace Cloister.Sandbox.Runner;

/// <summary>
/// Answers the host calls a handler makes during one invocation (<c>ctx.reveal</c>,
/// <c>ctx.tokenize</c>, <c>ctx.log</c>). The implementation checks each call against the
/// function's manifest; a refusal is a <see cref="HostCallResult.Failure"/>, which the handler
/// sees as an exception it can catch.
/// </summary>
public interface IHostCalls
{
    /// <summary>Reveals a token's plaintext into the sandbox (typically a JSON string).</summary>
    ValueTask<HostCallResult> RevealAsync(string token, CancellationToken cancellationToken);

    /// <summary>Tokenizes a value with the given format and returns the token.</summary>
    ValueTask<HostCallResult> TokenizeAsync(string value, string format, CancellationToken cancellationToken);

    /// <summary>Records a log line from the handler.</summary>
    ValueTask<HostCallResult> LogAsync(string message, CancellationToken cancellationToken);
}

/// <summary>The answer to one host call: a JSON result, or an error code such as <c>permission-denied</c> or <c>not-found</c>.</summary>
public sealed class HostCallResult
{
    private static readonly JsonElement JsonNull = JsonDocument.Parse("null").RootElement.Clone();

    private HostCallResult(JsonElement result, string? errorCode, string? errorMessage)
    {
        Result = result;
        ErrorCode = errorCode;
        ErrorMessage = errorMessage;
    }

    /// <summary>The result sent back to the handler; meaningful only when <see cref="IsSuccess"/>.</summary>
    public JsonElement Result { get; }

    /// <summary>The error code sent back to the handler, or <c>null</c> on success.</summary>
    public string? ErrorCode { get; }

    /// <summary>The error message sent back to the handler, or <c>null</c> on success.</summary>
    public string? ErrorMessage { get; }

    /// <summary>Whether the call succeeded.</summary>
    public bool IsSuccess => ErrorCode is null;

    /// <summary>A successful call with no result (JSON <c>null</c>).</summary>
    public static HostCallResult Success() => new(JsonNull, null, null);

    /// <summary>A successful call returning a JSON value.</summary>
    public static HostCallResult Success(JsonElement result) => new(result.Clone(), null, null);

    /// <summary>A successful call returning a string (a revealed value or a token).</summary>
    public static HostCallResult Success(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(JsonSerializer.SerializeToElement(value), null, null);
    }

    /// <summary>A refused or failed call; <paramref name="message"/> must not contain secrets.</summary>
    public static HostCallResult Failure(string code, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        ArgumentNullException.ThrowIfNull(message);
        return new(default, code, message);
    }
}
