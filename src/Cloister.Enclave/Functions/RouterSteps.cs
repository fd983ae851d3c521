using System.Threading.Channels;
using Cloister.Protocol;

namespace Cloister.Enclave.Functions;

/// <summary>
/// The invocation's side of the router loop: the background task asks for a lookup or a store and
/// waits; the host passes the router's <see cref="ContinueInvocationRequest"/> in and hands the
/// router the invocation's next event (the next pending step, or the completion).
/// </summary>
/// <remarks>
/// At most one step is pending at a time (host calls of one invocation are sequential). A step the
/// router does not answer within <c>stepTimeout</c> cancels the wait, which ends the invocation.
/// </remarks>
internal sealed class RouterSteps(string invocationId, TimeSpan stepTimeout, TimeProvider time)
{
    private readonly Channel<EnclaveResponse> _events = Channel.CreateUnbounded<EnclaveResponse>();
    private readonly Lock _lock = new();
    private PendingStep? _pending;
    private int _step;

    /// <summary>Asks the router for the records of <paramref name="tokens"/> (null where unknown to the tenant).</summary>
    public async Task<IReadOnlyList<StoredTokenRecord?>> LookupAsync(IReadOnlyList<string> tokens, CancellationToken cancellationToken)
        => (await AskAsync(tokens, null, cancellationToken).ConfigureAwait(false)).Found!;

    /// <summary>Asks the router to store <paramref name="records"/>; false where the token was taken.</summary>
    public async Task<IReadOnlyList<bool>> StoreAsync(IReadOnlyList<NewTokenRecord> records, CancellationToken cancellationToken)
        => (await AskAsync(null, records, cancellationToken).ConfigureAwait(false)).Stored!;

    /// <summary>Hands the router's answer to the waiting step; the error when it answers no pending step or has the wrong shape.</summary>
    public EnclaveError? Answer(ContinueInvocationRequest answer)
    {
        lock (_lock)
        {
            if (_pending is not { } pending || pending.Number != answer.Step)
            {
                return new EnclaveError(EnclaveErrorCodes.BadRequest, "The continuation answers a step the invocation is not waiting on.");
            }

            if (pending.Lookup is { } tokens)
            {
                if (answer.Found is not { } found || found.Count != tokens.Count || answer.Stored is not null)
                {
                    return new EnclaveError(EnclaveErrorCodes.BadRequest, "A lookup step is answered with one found record (or null) per requested token.");
                }

                for (var i = 0; i < found.Count; i++)
                {
                    if (found[i] is { } record && (!string.Equals(record.Token, tokens[i], StringComparison.Ordinal) || record.Format is null || record.Classifier is null))
                    {
                        return new EnclaveError(EnclaveErrorCodes.BadRequest, $"Found record {i} is not a complete record of the requested token.");
                    }
                }
            }
            else if (answer.Stored is not { } stored || stored.Count != pending.Store!.Count || answer.Found is not null)
            {
                return new EnclaveError(EnclaveErrorCodes.BadRequest, "A store step is answered with one stored flag per record.");
            }

            _pending = null;
            pending.Reply.TrySetResult(answer);
            return null;
        }
    }

    /// <summary>The next event for the router: waits until the invocation needs the store or ends.</summary>
    public ValueTask<EnclaveResponse> NextEventAsync(CancellationToken cancellationToken) => _events.Reader.ReadAsync(cancellationToken);

    /// <summary>Publishes the completion; nothing follows it.</summary>
    public void Complete(InvocationCompletedResponse completion)
    {
        _events.Writer.TryWrite(completion);
        _events.Writer.TryComplete();
    }

    private async Task<ContinueInvocationRequest> AskAsync(IReadOnlyList<string>? lookup, IReadOnlyList<NewTokenRecord>? store, CancellationToken cancellationToken)
    {
        PendingStep step;
        lock (_lock)
        {
            step = new PendingStep(++_step, lookup, store);
            _pending = step;
        }

        _events.Writer.TryWrite(new InvocationPendingResponse(invocationId, step.Number, lookup, store));
        using var timeout = new CancellationTokenSource(stepTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await step.Reply.Task.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                if (_pending == step)
                {
                    _pending = null;
                }
            }
        }
    }

    private sealed record PendingStep(int Number, IReadOnlyList<string>? Lookup, IReadOnlyList<NewTokenRecord>? Store)
    {
        public TaskCompletionSource<ContinueInvocationRequest> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
