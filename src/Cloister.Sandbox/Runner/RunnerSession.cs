using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Cloister.Sandbox.Runner;

/// <summary>
/// The host side of the runner protocol (docs/runner-protocol.md) for one runner process: sends
/// invocations, answers the handler's host calls through <see cref="IHostCalls"/>, and turns
/// every failure of the runner (crash, garbage, oversize frames, silence) into an
/// <see cref="InvocationOutcome"/> with a stable code.
/// </summary>
/// <remarks>
/// The session owns neither stream: the caller (the sandbox backend) starts and disposes the
/// process. One invocation at a time; a warm runner serves successive invocations. After a
/// crash, a timeout, or a frame the session cannot trust, the session is broken
/// (<see cref="IsBroken"/>) and every later invocation fails at once with the same error: the
/// caller should destroy the sandbox.
/// </remarks>
public sealed class RunnerSession
{
    private const int MaxErrorMessageChars = 2048;
    private const string Redacted = "[redacted]";

    private readonly Stream _toRunner;
    private readonly Stream _fromRunner;
    private readonly RunnerSessionOptions _options;
    private readonly Func<string, string>? _redact;
    private int _busy;
    private bool _ready;
    private InvocationError? _broken;

    /// <summary>Creates a session over the runner's stdin (<paramref name="toRunner"/>) and stdout (<paramref name="fromRunner"/>).</summary>
    /// <param name="toRunner">The runner's stdin.</param>
    /// <param name="fromRunner">The runner's stdout.</param>
    /// <param name="options">Limits; the defaults are safe.</param>
    /// <param name="redact">
    /// Removes the values the runner's sandbox received before (earlier invocations of a warm sandbox) from an error
    /// message, before it is cut to length; values that went through <c>ctx</c> in the invocation are removed in any case.
    /// </param>
    public RunnerSession(Stream toRunner, Stream fromRunner, RunnerSessionOptions? options = null, Func<string, string>? redact = null)
    {
        ArgumentNullException.ThrowIfNull(toRunner);
        ArgumentNullException.ThrowIfNull(fromRunner);
        _options = options ?? new RunnerSessionOptions();
        _options.Validate();
        _toRunner = toRunner;
        _fromRunner = fromRunner;
        _redact = redact;
    }

    /// <summary>Whether the runner has sent its <c>ready</c> frame.</summary>
    public bool IsReady => _ready;

    /// <summary>Whether the session can no longer be used (the runner crashed or misbehaved).</summary>
    public bool IsBroken => _broken is not null;

    /// <summary>
    /// Waits for the runner's <c>ready</c> frame (the handler is loaded), so that a pool can
    /// pre-start runners. Returns <c>null</c> when ready, otherwise why the runner is unusable.
    /// <see cref="InvokeAsync"/> waits for it itself when this was not called.
    /// </summary>
    public async Task<InvocationError?> WaitForReadyAsync(CancellationToken cancellationToken)
    {
        EnterBusy();
        try
        {
            return await WaitForReadyCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// Runs one invocation of the handler with <paramref name="event"/>, answering its host calls
    /// with <paramref name="hostCalls"/>. Failures of the runner are returned, not thrown; only
    /// cancellation through <paramref name="cancellationToken"/> throws (and breaks the session).
    /// </summary>
    /// <exception cref="InvalidOperationException">Another invocation is running on this session, or
    /// <paramref name="hostCalls"/> threw (the exception is the inner one; the session is then broken).</exception>
    public async Task<InvocationOutcome> InvokeAsync(JsonElement @event, IHostCalls hostCalls, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hostCalls);
        EnterBusy();
        try
        {
            // Serialized before the first await: the caller's JsonDocument need not outlive this call's start.
            var invocation = new Invocation(Guid.NewGuid().ToString("N"));
            byte[] invoke = Serialize(writer =>
            {
                writer.WriteString("type", "invoke");
                writer.WriteString("id", invocation.Id);
                writer.WritePropertyName("event");
                @event.WriteTo(writer);
            });

            InvocationError? notReady = await WaitForReadyCoreAsync(cancellationToken).ConfigureAwait(false);
            if (notReady is not null)
            {
                return InvocationOutcome.Failure(notReady.Code, notReady.Message);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.InvocationTimeout);
            try
            {
                return await RunAsync(invocation, invoke, hostCalls, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
            {
                return Break(InvocationErrorCodes.Timeout, $"the invocation did not finish within {_options.InvocationTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
            }
            catch (OperationCanceledException)
            {
                _broken ??= new InvocationError(InvocationErrorCodes.Timeout, "an earlier invocation on this runner was cancelled");
                throw;
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                return Break(InvocationErrorCodes.RunnerCrashed, "the runner closed its input (it exited or crashed)");
            }
            catch (Exception)
            {
                // A bug in the host calls implementation: the runner is left mid-call and cannot be reused.
                _broken ??= new InvocationError(InvocationErrorCodes.ProtocolViolation, "a host call failed inside the host");
                throw;
            }
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private void EnterBusy()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException("A runner session serves one invocation at a time.");
        }
    }

    private async Task<InvocationError?> WaitForReadyCoreAsync(CancellationToken cancellationToken)
    {
        if (_broken is not null)
        {
            return _broken;
        }

        if (_ready)
        {
            return null;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ReadyTimeout);
        FrameReadResult frame;
        try
        {
            frame = await ReadFrameAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Break(InvocationErrorCodes.Timeout, "the runner did not become ready in time").Error;
        }

        if (frame.Status != FrameReadStatus.Ok)
        {
            return BreakOnRead(frame).Error;
        }

        using JsonDocument document = frame.Document!;
        JsonElement root = document.RootElement;
        switch (root.GetProperty("type").GetString())
        {
            case "ready":
                _ready = true;
                return null;
            case "error":
                return Break(InvocationErrorCodes.HandlerError, "the function failed to load: " + ErrorMessageOf(root, [])).Error;
            default:
                return Break(InvocationErrorCodes.ProtocolViolation, "the runner's first frame was not \"ready\"").Error;
        }
    }

    private async Task<InvocationOutcome> RunAsync(Invocation invocation, byte[] invoke, IHostCalls hostCalls, CancellationToken cancellationToken)
    {
        if (invoke.Length > _options.MaxFrameBytes)
        {
            // Nothing was sent: the runner is still usable.
            return InvocationOutcome.Failure(InvocationErrorCodes.FrameTooLarge, $"the event is {invoke.Length} bytes; the maximum frame size is {_options.MaxFrameBytes} bytes");
        }

        await FrameCodec.WriteAsync(_toRunner, invoke, cancellationToken).ConfigureAwait(false);

        while (true)
        {
            FrameReadResult frame = await ReadFrameAsync(cancellationToken).ConfigureAwait(false);
            if (frame.Status != FrameReadStatus.Ok)
            {
                return BreakOnRead(frame);
            }

            using JsonDocument document = frame.Document!;
            JsonElement root = document.RootElement;
            string type = root.GetProperty("type").GetString()!;
            switch (type)
            {
                case "call":
                    if (!await AnswerCallAsync(root, invocation, hostCalls, cancellationToken).ConfigureAwait(false))
                    {
                        return Break(InvocationErrorCodes.ProtocolViolation, "the runner sent a call frame without an integer \"call\" number");
                    }

                    break;
                case "result" or "error" when !IdMatches(root, invocation.Id):
                    return Break(InvocationErrorCodes.ProtocolViolation, $"the runner sent a \"{type}\" frame for another invocation");
                case "result":
                    if (!root.TryGetProperty("result", out JsonElement result))
                    {
                        return Break(InvocationErrorCodes.ProtocolViolation, "the runner sent a result frame without \"result\"");
                    }

                    return InvocationOutcome.Success(result);
                case "error":
                    return InvocationOutcome.Failure(ErrorCodeOf(root), ErrorMessageOf(root, invocation.Revealed));
                default:
                    return Break(InvocationErrorCodes.ProtocolViolation, "the runner sent an unexpected frame during an invocation");
            }
        }
    }

    /// <summary>Answers one call frame; false when the frame has no usable call number.</summary>
    private async Task<bool> AnswerCallAsync(JsonElement root, Invocation invocation, IHostCalls hostCalls, CancellationToken cancellationToken)
    {
        if (!root.TryGetProperty("call", out JsonElement callElement)
            || callElement.ValueKind != JsonValueKind.Number
            || !callElement.TryGetInt64(out long call))
        {
            return false;
        }

        string? method = root.TryGetProperty("method", out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        JsonElement parameters = root.TryGetProperty("params", out JsonElement p) && p.ValueKind == JsonValueKind.Object ? p : default;

        HostCallResult answer;
        switch (method)
        {
            case "reveal":
                string? token = StringParam(parameters, "token", allowScalars: false);
                answer = token is null
                    ? HostCallResult.Failure("invalid-params", "reveal needs a string \"token\"")
                    : await CallHostAsync(() => hostCalls.RevealAsync(token, cancellationToken)).ConfigureAwait(false);
                if (answer.IsSuccess)
                {
                    invocation.RememberRevealed(answer.Result);
                }

                break;
            case "tokenize":
                string? value = StringParam(parameters, "value", allowScalars: true);
                string? format = StringParam(parameters, "format", allowScalars: false);
                answer = value is null || format is null
                    ? HostCallResult.Failure("invalid-params", "tokenize needs a string or number \"value\" and a string \"format\"")
                    : await CallHostAsync(() => hostCalls.TokenizeAsync(value, format, cancellationToken)).ConfigureAwait(false);
                if (value is not null)
                {
                    // The value being tokenized is plaintext too.
                    invocation.RememberRevealed(value);
                }

                break;
            case "log":
                string? message = StringParam(parameters, "message", allowScalars: true);
                answer = message is null
                    ? HostCallResult.Failure("invalid-params", "log needs a string \"message\"")
                    : await CallHostAsync(() => hostCalls.LogAsync(message, cancellationToken)).ConfigureAwait(false);
                break;
            default:
                answer = HostCallResult.Failure("unknown-method", "the host offers reveal, tokenize and log");
                break;
        }

        byte[] reply = ReplyFrame(call, answer);
        if (reply.Length > _options.MaxFrameBytes)
        {
            reply = ReplyFrame(call, HostCallResult.Failure(InvocationErrorCodes.FrameTooLarge, "the reply exceeds the maximum frame size"));
        }

        await FrameCodec.WriteAsync(_toRunner, reply, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Runs one host call. Its exceptions (other than cancellation) are bugs or broken
    /// infrastructure of the host, wrapped so that they are never mistaken for the runner's I/O failures.
    /// </summary>
    private static async ValueTask<HostCallResult> CallHostAsync(Func<ValueTask<HostCallResult>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new InvalidOperationException("The host calls implementation failed.", ex);
        }
    }

    private static byte[] ReplyFrame(long call, HostCallResult answer) => Serialize(writer =>
    {
        writer.WriteString("type", "reply");
        writer.WriteNumber("call", call);
        if (answer.IsSuccess)
        {
            writer.WritePropertyName("result");
            answer.Result.WriteTo(writer);
        }
        else
        {
            writer.WriteStartObject("error");
            writer.WriteString("code", answer.ErrorCode);
            writer.WriteString("message", answer.ErrorMessage);
            writer.WriteEndObject();
        }
    });

    private static string? StringParam(JsonElement parameters, string name, bool allowScalars)
    {
        if (parameters.ValueKind != JsonValueKind.Object || !parameters.TryGetProperty(name, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number when allowScalars => value.GetRawText(),
            _ => null,
        };
    }

    private static bool IdMatches(JsonElement root, string id) =>
        root.TryGetProperty("id", out JsonElement value) && value.ValueKind == JsonValueKind.String && value.ValueEquals(id);

    /// <summary>
    /// The code of an invocation's error frame: <c>frame-too-large</c> when the runner says the result did not fit in a
    /// frame (the runner is untrusted, but the claim only names its own failure), otherwise <c>handler-error</c>.
    /// </summary>
    private static string ErrorCodeOf(JsonElement root) =>
        root.TryGetProperty("error", out JsonElement error)
        && error.ValueKind == JsonValueKind.Object
        && error.TryGetProperty("code", out JsonElement code)
        && code.ValueKind == JsonValueKind.String
        && code.ValueEquals(InvocationErrorCodes.FrameTooLarge)
            ? InvocationErrorCodes.FrameTooLarge
            : InvocationErrorCodes.HandlerError;

    /// <summary>The runner's error message (type and text of the exception), with revealed and tokenized values removed, then cut short.</summary>
    private string ErrorMessageOf(JsonElement root, IReadOnlyList<string> revealed)
    {
        string message = root.TryGetProperty("error", out JsonElement error)
            && error.ValueKind == JsonValueKind.Object
            && error.TryGetProperty("message", out JsonElement m)
            && m.ValueKind == JsonValueKind.String
                ? m.GetString()!
                : "the handler failed without a message";
        if (_redact is not null)
        {
            message = _redact(message);
        }

        foreach (string value in revealed)
        {
            message = message.Replace(value, Redacted, StringComparison.Ordinal);
        }

        if (message.Length > MaxErrorMessageChars)
        {
            message = string.Concat(message.AsSpan(0, MaxErrorMessageChars), "…");
        }

        return message;
    }

    private async Task<FrameReadResult> ReadFrameAsync(CancellationToken cancellationToken)
    {
        // WaitAsync: a stream that ignores its token (some pipe implementations) must not outlive the timeout.
        Task<FrameReadResult> read = FrameCodec.ReadAsync(_fromRunner, _options.MaxFrameBytes, cancellationToken).AsTask();
        try
        {
            return await read.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _ = read.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw;
        }
    }

    private InvocationOutcome BreakOnRead(FrameReadResult frame) => frame.Status switch
    {
        FrameReadStatus.TooLarge => Break(InvocationErrorCodes.FrameTooLarge, frame.Detail),
        FrameReadStatus.Malformed => Break(InvocationErrorCodes.MalformedFrame, frame.Detail),
        _ => Break(InvocationErrorCodes.RunnerCrashed, frame.Detail + " (it exited or crashed)"),
    };

    private InvocationOutcome Break(string code, string message)
    {
        _broken ??= new InvocationError(code, message);
        return InvocationOutcome.Failure(code, message);
    }

    private static byte[] Serialize(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private sealed class Invocation(string id)
    {
        private readonly List<string> _revealed = [];

        public string Id { get; } = id;

        public IReadOnlyList<string> Revealed => _revealed;

        public void RememberRevealed(JsonElement value) =>
            RememberRevealed(value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText());

        public void RememberRevealed(string text)
        {
            if (text.Length > 0)
            {
                _revealed.Add(text);
            }
        }
    }
}
