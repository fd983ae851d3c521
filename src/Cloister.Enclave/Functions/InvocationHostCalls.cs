using Cloister.Protocol;
using Cloister.Sandbox.Runner;

namespace Cloister.Enclave.Functions;

/// <summary>
/// Answers one invocation's host calls, each checked against the manifest: <c>reveal</c> looks the
/// token up through the router and reveals it only when the manifest permits its classifier;
/// <c>tokenize</c> creates a token the router stores; <c>log</c> collects (capped) lines.
/// </summary>
/// <remarks>Refusals never name a value: <c>not-found</c>, <c>permission-denied</c> naming the classifier, or a tokenize error's code.</remarks>
/// <param name="records">The invocation's token work.</param>
/// <param name="steps">The router loop.</param>
/// <param name="secrets">What the invocation has revealed and tokenized.</param>
/// <param name="redactLogs">Whether log lines are redacted (unless the manifest allows plaintext out).</param>
internal sealed class InvocationHostCalls(TokenRecords records, RouterSteps steps, InvocationSecrets secrets, bool redactLogs) : IHostCalls
{
    /// <summary>Most log lines kept per invocation.</summary>
    public const int MaxLogLines = FrameLimits.MaxLogLines;

    /// <summary>Longest log line kept, in characters (longer ones are cut).</summary>
    public const int MaxLogLineChars = FrameLimits.MaxLogLineChars;

    private readonly List<string> _logs = [];
    private bool _logsDropped;

    /// <summary>
    /// The handler's log lines, redacted again with everything revealed or tokenized by the end
    /// (a line may quote a value the handler tokenized only later).
    /// </summary>
    public IReadOnlyList<string> Logs
    {
        get
        {
            lock (_logs)
            {
                var lines = _logs.Select(line => redactLogs ? secrets.Redact(line) : line).ToList();
                if (_logsDropped)
                {
                    lines.Add($"[further log lines dropped: at most {MaxLogLines} are kept]");
                }

                return lines;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<HostCallResult> RevealAsync(string token, CancellationToken cancellationToken)
    {
        if (secrets.IsFull)
        {
            return LimitExceeded();
        }

        var found = await steps.LookupAsync([token], cancellationToken).ConfigureAwait(false);
        if (found[0] is not { } record)
        {
            return HostCallResult.Failure("not-found", "there is no such token");
        }

        if (!records.MayReveal(record))
        {
            return HostCallResult.Failure("permission-denied", $"the manifest does not permit revealing tokens of classifier '{record.Classifier}'");
        }

        var revealed = records.Decrypt(record);
        if (revealed.Error is { } error)
        {
            return HostCallResult.Failure(error.Code, error.Detail);
        }

        secrets.AddRevealed(token, revealed.Value!);
        return HostCallResult.Success(revealed.Value!);
    }

    /// <inheritdoc />
    public async ValueTask<HostCallResult> TokenizeAsync(string value, string format, CancellationToken cancellationToken)
    {
        if (secrets.IsFull)
        {
            return LimitExceeded();
        }

        secrets.AddTokenized(value);
        var (token, error) = (await records.IssueAsync([TokenRecords.Item(value, format, null)], cancellationToken).ConfigureAwait(false))[0];
        return error is null ? HostCallResult.Success(token!) : HostCallResult.Failure(error.Code, error.Detail);
    }

    /// <summary>
    /// The sandbox has received as many values as it may keep a record of (<see cref="Sandbox.Pool.SandboxSecrets"/>): no
    /// more reveals or tokenizes in it, so that neither the worker's memory nor the completion's token list can grow
    /// without bound within one invocation. The sandbox is retired after this invocation.
    /// </summary>
    private static HostCallResult LimitExceeded()
        => HostCallResult.Failure("limit-exceeded", "this sandbox has received as many values as it may; it is replaced after this invocation");

    /// <inheritdoc />
    public ValueTask<HostCallResult> LogAsync(string message, CancellationToken cancellationToken)
    {
        // Redacted before it is cut, so a cut never leaves part of a value behind.
        var line = redactLogs ? secrets.Redact(message) : message;
        lock (_logs)
        {
            if (_logs.Count < MaxLogLines)
            {
                _logs.Add(line.Length <= MaxLogLineChars ? line : string.Concat(line.AsSpan(0, MaxLogLineChars), "…"));
            }
            else
            {
                _logsDropped = true;
            }
        }

        return ValueTask.FromResult(HostCallResult.Success());
    }
}
