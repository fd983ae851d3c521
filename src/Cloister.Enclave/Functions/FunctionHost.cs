using System.Collections.Concurrent;
using Cloister.Enclave.Sealed;
using Cloister.Protocol;
using Cloister.Sandbox.Backends;
using Cloister.Sandbox.Pool;

namespace Cloister.Enclave.Functions;

/// <summary>
/// The enclave's function side: the package cache, the sandbox pool and the running invocations,
/// behind <see cref="InvokeFunctionRequest"/>, <see cref="ContinueInvocationRequest"/> and
/// <see cref="RetireFunctionRequest"/>. <see cref="EnclaveHost"/> loads the tenant's keys between
/// <see cref="Prepare"/> and <see cref="StartAsync"/>.
/// </summary>
/// <remarks>Disposing cancels the running invocations and disposes the pool (killing every sandbox).</remarks>
internal sealed class FunctionHost : IAsyncDisposable
{
    /// <summary>How long disposal, or forgetting a tenant, waits for cancelled invocations to give their sandboxes back (each ends at once when cancelled).</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, FunctionInvocation> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> _work = new();
    private readonly ConcurrentDictionary<FunctionInvocation, CancellationTokenSource> _stops = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _unavailable;
    private readonly FunctionPackages? _packages;
    private readonly SandboxPool? _pool;
    private readonly TokenOperations _operations;
    private readonly InvocationOutcomes _outcomes;
    private readonly TimeProvider _time;

    // Says which tenants were deleted (marked before ForgetTenantAsync runs): nothing is installed, started or prestarted
    // for them again, and what raced past a check is removed once it sees the mark.
    private readonly Keyring _keyring;

    public FunctionHost(EnclaveFunctionOptions? options, TokenOperations operations, InvocationOutcomes outcomes, Keyring keyring)
    {
        _keyring = keyring;
        _operations = operations;
        _outcomes = outcomes;
        _time = options?.TimeProvider ?? TimeProvider.System;
        _unavailable = $"No sandbox is available to run functions: {SandboxBackends.InstallHint}.";
        if (options?.Backend is { } backend)
        {
            options.Validate();
            _packages = new FunctionPackages(options);
            _pool = new SandboxPool(backend, options.Pool, _time);
        }
    }

    /// <summary>How many invocations are running (their state is held).</summary>
    public int RunningCount => _running.Count;

    /// <summary>The sandbox pool's sizes and cold starts (all zero without a sandbox backend).</summary>
    public SandboxPoolCounts PoolCounts => _pool?.Counts() ?? default;

    /// <summary>
    /// Checks the request and finds (or installs from the attached package) the function version:
    /// the cached function, or the response to send instead.
    /// </summary>
    public (CachedFunction? Function, TokenArgs? Args, EnclaveResponse? Early) Prepare(InvokeFunctionRequest request)
    {
        if (string.IsNullOrEmpty(request.InvocationId) || request.Function is not { Name: not null } function
            || !IsMeasurement(function.Measurement) || request.CurrentKeyVersion < 1)
        {
            return (null, null, BadRequest("An invoke needs an invocation id, a function with a 96-hex-digit measurement and a current key version of 1 or more."));
        }

        if (_running.ContainsKey(request.InvocationId))
        {
            return (null, null, BadRequest("An invocation with this id is already running."));
        }

        if (_packages is null || _pool is null)
        {
            return (null, null, Completed(request.InvocationId, FunctionErrorCodes.SandboxUnavailable, _unavailable));
        }

        if (_keyring.IsForgotten(request.TenantId))
        {
            return (null, null, Forgotten());
        }

        var key = FunctionPackages.KeyOf(request.TenantId, function.Measurement);
        var cached = _packages.Find(key);
        if (cached is null)
        {
            if (request.Package is null)
            {
                return (null, null, new FunctionRequiredResponse(request.InvocationId, function.Measurement));
            }

            var (installed, error) = _packages.Install(request.TenantId, function, request.Package);
            if (error is not null)
            {
                return (null, null, Completed(request.InvocationId, error.Code, error.Detail));
            }

            if (_keyring.IsForgotten(request.TenantId))
            {
                // The tenant was deleted while its package was being installed, perhaps after its packages were removed.
                _packages.Remove(key);
                return (null, null, Forgotten());
            }

            cached = installed!;
            _ = PrestartAsync(request.TenantId, cached);
        }

        var args = TokenArgs.TryParse(request.ArgsJson, out var argsError);
        return args is null
            ? (null, null, Completed(request.InvocationId, argsError!.Code, argsError.Detail))
            : (cached, args, null);
    }

    /// <summary>Starts the invocation in the background and returns its first event; <paramref name="reply"/> seals the completion of a sealed invocation.</summary>
    public async Task<EnclaveResponse> StartAsync(InvokeFunctionRequest request, CachedFunction function, TokenArgs args, SealedReply? reply, CancellationToken cancellationToken)
    {
        var invocation = new FunctionInvocation(request, function, args, _pool!, _operations, _time);
        if (!_running.TryAdd(invocation.Id, invocation))
        {
            reply?.Dispose();
            return BadRequest("An invocation with this id is already running.");
        }

        // Its own stop, so that deleting its tenant stops it (ForgetTenantAsync) as the host's disposal does.
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        _stops[invocation] = stop;
        if (_keyring.IsForgotten(request.TenantId))
        {
            // Marked before ForgetTenantAsync looked for stops to cancel: it may not have seen this one.
            _stops.TryRemove(invocation, out _);
            _running.TryRemove(new KeyValuePair<string, FunctionInvocation>(invocation.Id, invocation));
            stop.Dispose();
            reply?.Dispose();
            return Forgotten();
        }

        var work = Task.Run(async () =>
        {
            var completion = Finish(request, await invocation.RunAsync(stop.Token).ConfigureAwait(false), reply);

            // Forgotten before the completion is published: a continuation after it is unknown-invocation.
            _running.TryRemove(new KeyValuePair<string, FunctionInvocation>(invocation.Id, invocation));
            _stops.TryRemove(invocation, out _);
            stop.Dispose();
            invocation.Steps.Complete(completion);
        }, CancellationToken.None);
        _work.TryAdd(work, true);
        _ = work.ContinueWith(done => _work.TryRemove(done, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return await invocation.Steps.NextEventAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// How a completion leaves the enclave: a sealed invocation's sealed under its reply key, any other with its outcome
    /// encrypted for the router to keep (<see cref="InvocationOutcomes.Keep"/>; the invocation's keys are loaded).
    /// </summary>
    public InvocationCompletedResponse Finish(InvokeFunctionRequest request, InvocationCompletedResponse completion, SealedReply? reply)
        => reply is not null ? reply.Seal(completion) : _outcomes.Keep(request.TenantId, request.CurrentKeyVersion, completion);

    /// <summary>Delivers the router's answer to the waiting step and returns the invocation's next event.</summary>
    public async Task<EnclaveResponse> ContinueAsync(ContinueInvocationRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.InvocationId)
            || !_running.TryGetValue(request.InvocationId, out var invocation) || !invocation.BelongsTo(request.TenantId))
        {
            return new EnclaveErrorResponse(new EnclaveError(FunctionErrorCodes.UnknownInvocation, "The enclave is not running an invocation with this id (it finished, timed out, or never started)."));
        }

        if (invocation.Steps.Answer(request) is { } error)
        {
            return new EnclaveErrorResponse(error);
        }

        return await invocation.Steps.NextEventAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Retires the sandboxes of the measurements and deletes their packages.</summary>
    public async Task<EnclaveResponse> RetireAsync(RetireFunctionRequest request)
    {
        if (request.Measurements is null || !request.Measurements.All(IsMeasurement))
        {
            return BadRequest("A retire request needs a list of 96-hex-digit measurements.");
        }

        if (_packages is null || _pool is null)
        {
            return new RetireFunctionResponse();
        }

        foreach (var measurement in request.Measurements)
        {
            var key = FunctionPackages.KeyOf(request.TenantId, measurement);
            await _pool.RetireAsync(key).ConfigureAwait(false);
            _packages.Remove(key);
        }

        return new RetireFunctionResponse();
    }

    /// <summary>
    /// For a deleted tenant: stops its running invocations and waits (<see cref="StopGrace"/> at most) for them to end, then kills its
    /// sandboxes and deletes its packages. Returns how many invocations were stopped and how many versions removed.
    /// </summary>
    /// <remarks>The keyring has marked the tenant forgotten before (<see cref="EnclaveHost"/> forgets its keys first), so
    /// an invocation registered after the look below for stops to cancel sees the mark and ends itself.</remarks>
    public async Task<(int Invocations, int Functions)> ForgetTenantAsync(string tenantId)
    {
        var stopped = _stops.Where(entry => entry.Key.BelongsTo(tenantId)).ToList();
        foreach (var (_, stop) in stopped)
        {
            try
            {
                await stop.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // It ended meanwhile.
            }
        }

        // A stopped invocation gives its sandbox back (and the pool disposes a cancelled one) before it leaves _running.
        using var grace = new CancellationTokenSource(StopGrace);
        while (_running.Values.Any(invocation => invocation.BelongsTo(tenantId)) && !grace.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), CancellationToken.None).ConfigureAwait(false);
        }

        if (_packages is null || _pool is null)
        {
            return (stopped.Count, 0);
        }

        var versions = _packages.KeysOf(tenantId);
        foreach (var key in versions)
        {
            await _pool.RetireAsync(key).ConfigureAwait(false);
        }

        _packages.RemoveTenant(tenantId);
        return (stopped.Count, versions.Count);
    }

    /// <summary>Starts the pool's minimum of idle sandboxes for a newly installed version, in the background.</summary>
    private async Task PrestartAsync(string tenantId, CachedFunction function)
    {
        try
        {
            await _pool!.PrestartAsync(function.Definition, _stopping.Token).ConfigureAwait(false);
            if (_keyring.IsForgotten(tenantId))
            {
                // Started while its tenant was being deleted, perhaps after its sandboxes were retired.
                await _pool.RetireAsync(function.Key).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is SandboxException or OperationCanceledException or ObjectDisposedException)
        {
            // The first invocation starts its own sandbox and reports what is wrong.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);

        // Cancelled invocations give their sandboxes back (the pool, once disposed, kills each one returned): wait for them,
        // so that no sandbox and none of its host state outlives the host.
        try
        {
            await Task.WhenAll(_work.Keys).WaitAsync(StopGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A bug holds an invocation; the pool still kills every sandbox it has.
        }

        if (_pool is not null)
        {
            await _pool.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static bool IsMeasurement(string? measurement)
        => measurement is { Length: 96 } && measurement.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    private static InvocationCompletedResponse Completed(string invocationId, string code, string detail)
        => new(invocationId, null, new EnclaveError(code, detail), false, [], []);

    private static EnclaveErrorResponse BadRequest(string detail) => new(new EnclaveError(EnclaveErrorCodes.BadRequest, detail));

    private static EnclaveErrorResponse Forgotten() => new(Keyring.ForgottenTenant);
}
