using System.Runtime.InteropServices;
using System.Text.Json;
using Cloister.Protocol;
using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Pool;
using Cloister.Sandbox.Runner;

namespace Cloister.Enclave.Functions;

/// <summary>
/// One invocation, run as a background task: resolves the args' token references (one lookup
/// step), runs the handler in a leased sandbox (its host calls may add steps), applies the output
/// policy (one store step round for <c>tokenizeOutput</c>) and publishes the completion.
/// </summary>
/// <remarks>
/// Every wait on the router is bounded by the function's wall timeout (<see cref="RouterSteps"/>), the
/// sandbox invocation by the runner's invocation timeout, and the sandbox start by the ready timeout,
/// so an invocation the router abandons still ends, and its state is removed.
/// </remarks>
internal sealed class FunctionInvocation
{
    private readonly string _tenantId;
    private readonly CachedFunction _function;
    private readonly TokenArgs _args;
    private readonly SandboxPool _pool;
    private readonly TimeSpan _wallTimeout;
    private readonly InvocationSecrets _secrets = new();
    private readonly TokenRecords _records;
    private readonly InvocationHostCalls _hostCalls;
    private bool _warm;
    private bool _holdsConcurrency;
    private SandboxLease? _lease;

    public FunctionInvocation(InvokeFunctionRequest request, CachedFunction function, TokenArgs args, SandboxPool pool, TokenOperations operations, TimeProvider time)
    {
        Id = request.InvocationId;
        _tenantId = request.TenantId;
        _function = function;
        _args = args;
        _pool = pool;
        _wallTimeout = TimeSpan.FromSeconds(function.Manifest.Limits.WallTimeoutSeconds);
        Steps = new RouterSteps(Id, _wallTimeout, time);
        var permissions = function.Manifest.Permissions;
        _records = new TokenRecords(operations, request.TenantId, request.CurrentKeyVersion, permissions, Steps);
        _hostCalls = new InvocationHostCalls(_records, Steps, _secrets, redactLogs: !permissions.ReturnPlaintext);
    }

    public string Id { get; }

    public RouterSteps Steps { get; }

    /// <summary>Whether <paramref name="tenantId"/> started this invocation (no other tenant can continue it).</summary>
    public bool BelongsTo(string tenantId) => string.Equals(_tenantId, tenantId, StringComparison.Ordinal);

    /// <summary>Runs to completion; never throws. The caller forgets the invocation, then publishes the completion.</summary>
    public async Task<InvocationCompletedResponse> RunAsync(CancellationToken stopping)
    {
        InvocationCompletedResponse completion;
        try
        {
            completion = await PipelineAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            completion = Failed(InvocationErrorCodes.Timeout, $"The invocation did not finish within its wall-clock limit of {_wallTimeout.TotalSeconds:0.###} s (the router did not answer in time, or the function ran too long).");
        }
        catch (OperationCanceledException)
        {
            completion = Failed(FunctionErrorCodes.SandboxUnavailable, "The enclave is shutting down.");
        }
        catch (SandboxException)
        {
            completion = Failed(FunctionErrorCodes.SandboxUnavailable, "The sandbox backend could not start a sandbox.");
        }
        catch (ObjectDisposedException)
        {
            completion = Failed(FunctionErrorCodes.SandboxUnavailable, "The enclave is shutting down.");
        }
        catch (Exception)
        {
            // The exception itself is not passed on: its message could quote a value.
            completion = Failed(EnclaveErrorCodes.Internal, "The enclave failed to run the invocation.");
        }

        await ReleaseSandboxAsync().ConfigureAwait(false);
        return completion;
    }

    /// <summary>
    /// Gives the sandbox back only once the completion is built: until then its record of values (which the output check,
    /// the redaction and the token list read) must not be zeroed by its disposal. Then zeroes the invocation's own values.
    /// </summary>
    private async Task ReleaseSandboxAsync()
    {
        try
        {
            if (_lease is not null)
            {
                await _lease.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is SandboxException or IOException or ObjectDisposedException)
        {
            // A sandbox that fails to die cleanly is the backend's to report; the completion stands.
        }
        finally
        {
            if (_holdsConcurrency)
            {
                _function.Concurrency.Release();
            }

            _secrets.Release();
        }
    }

    private async Task<InvocationCompletedResponse> PipelineAsync(CancellationToken stopping)
    {
        var resolved = await ResolveArgsAsync(stopping).ConfigureAwait(false);
        if (resolved.Error is { } argsError)
        {
            return Failed(argsError.Code, argsError.Detail);
        }

        var outcome = await RunHandlerAsync(resolved.Event, stopping).ConfigureAwait(false);
        if (outcome.Error is { } sandboxError)
        {
            // The runner redacts what the handler revealed through ctx; all else the sandbox received is redacted here.
            return Failed(sandboxError.Code, _secrets.Redact(sandboxError.Message));
        }

        var (resultJson, outputError) = await OutputPolicy.ApplyAsync(outcome.Result, _function.Manifest.Permissions, _records, _secrets, stopping).ConfigureAwait(false);
        return outputError is null
            ? new InvocationCompletedResponse(Id, resultJson, null, _warm, _hostCalls.Logs, _secrets.RevealedTokens)
            : Failed(outputError.Code, outputError.Detail);
    }

    /// <summary>
    /// Looks every referenced token up in one step, then checks all of them (unknown first, then
    /// classifiers) before decrypting any, and substitutes the plaintext.
    /// </summary>
    private async Task<(JsonElement Event, EnclaveError? Error)> ResolveArgsAsync(CancellationToken stopping)
    {
        var tokens = _args.Tokens;
        var plaintext = new Dictionary<string, string>(StringComparer.Ordinal);
        if (tokens.Count == 0)
        {
            return (_args.Resolve(plaintext), null);
        }

        var found = await Steps.LookupAsync(tokens, stopping).ConfigureAwait(false);
        for (var i = 0; i < tokens.Count; i++)
        {
            if (found[i] is null)
            {
                return (default, new EnclaveError(FunctionErrorCodes.UnknownToken, $"The token at {_args.PathOf(tokens[i])} is not a token of this tenant."));
            }
        }

        for (var i = 0; i < tokens.Count; i++)
        {
            if (!_records.MayReveal(found[i]!))
            {
                return (default, new EnclaveError(FunctionErrorCodes.ClassifierNotPermitted, $"The manifest does not permit revealing tokens of classifier '{found[i]!.Classifier}' (the token at {_args.PathOf(tokens[i])})."));
            }
        }

        for (var i = 0; i < tokens.Count; i++)
        {
            var revealed = _records.Decrypt(found[i]!);
            if (revealed.Error is { } error)
            {
                return (default, new EnclaveError(error.Code, $"The token at {_args.PathOf(tokens[i])} could not be revealed: {error.Detail}"));
            }

            plaintext[tokens[i]] = revealed.Value!;
        }

        // Recorded only once all decrypted: only then do the values reach the sandbox.
        foreach (var token in tokens)
        {
            _secrets.AddRevealed(token, plaintext[token]);
        }

        return (_args.Resolve(plaintext), null);
    }

    private async Task<(JsonElement Result, InvocationError? Error)> RunHandlerAsync(JsonElement @event, CancellationToken stopping)
    {
        // The manifest's concurrency; a wait longer than the wall timeout ends as a timeout.
        using (var gate = CancellationTokenSource.CreateLinkedTokenSource(stopping))
        {
            gate.CancelAfter(_wallTimeout);
            await _function.Concurrency.WaitAsync(gate.Token).ConfigureAwait(false);
            _holdsConcurrency = true;
        }

        if (_function.IsRetired)
        {
            return (default, new InvocationError(FunctionErrorCodes.SandboxUnavailable, "The function version was retired while the invocation started."));
        }

        // Held until the completion is built (ReleaseSandboxAsync), and so is the concurrency slot.
        _lease = await _pool.LeaseAsync(_function.Definition, stopping).ConfigureAwait(false);
        _warm = _lease.WasWarm;

        // A warm sandbox may hold values of earlier invocations: from now on they count as this one's too.
        _secrets.Attach(_lease.Sandbox.Secrets);
        var outcome = await _lease.InvokeAsync(@event, _hostCalls, stopping).ConfigureAwait(false);
        if (!outcome.IsSuccess)
        {
            return (default, outcome.Error);
        }

        // The result as the runner wrote it (compact JSON); the frame may be a little larger than the manifest allows.
        var resultBytes = JsonMarshal.GetRawUtf8Value(outcome.Result).Length;
        var maxBytes = _function.Manifest.Limits.OutputBytes;
        return resultBytes <= maxBytes
            ? (outcome.Result, null)
            : (default, new InvocationError(SandboxErrorCodes.OutputLimit, $"The result is {resultBytes} bytes; the manifest allows {maxBytes} (limits.outputBytes)."));
    }

    private InvocationCompletedResponse Failed(string code, string detail)
        => new(Id, null, new EnclaveError(code, detail), _warm, _hostCalls.Logs, _secrets.RevealedTokens);
}
