using System.Text.Json;
using Cloister.Crypto;
using Cloister.Protocol;
using Cloister.Server.Http;
using Cloister.Server.Observability;
using Cloister.Server.Tenants;
using Cloister.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Functions;

/// <summary>
/// An invocation as its caller sees it: the stored record, and what the store keeps only encrypted by the worker (or
/// sealed to the client) — the result (JSON) and the error's detail — and the logs (a synchronous caller's only).
/// </summary>
internal sealed record InvocationView(InvocationRecord Record, string? ResultJson, string? ErrorDetail, IReadOnlyList<string> Logs);

/// <summary>
/// Runs invocations: admits each one through a fair gate (at most <see cref="ServerOptions.MaxRunningInvocations"/>
/// running, <see cref="ServerOptions.MaxRunningInvocationsPerTenant"/> per tenant and
/// <see cref="ServerOptions.MaxQueuedInvocationsPerTenant"/> more waiting, else 429), records it (running) before the
/// enclave sees it, drives it with <see cref="InvocationDriver"/> once its turn comes,
/// and records how it ended together with its audit entry before anyone is told. Asynchronous invocations run in the
/// background, tracked so that shutdown waits for them briefly and then cancels them, recording them as
/// <see cref="InterruptedCode"/>; rows left running by a crash are marked the same way at the next start.
/// </summary>
/// <remarks>
/// Nothing derived from a value is stored in clear: the worker's outcome is kept as it encrypted it
/// (<see cref="StoredOutcome"/>), a sealed invocation's as the client's sealed box, and only the error code (a fixed
/// string) and the router's own details are plain. Reading an invocation back asks the worker to open its outcome.
/// </remarks>
internal sealed class InvocationService(
    IInvocationStore store,
    InvocationDriver driver,
    EnclaveClient enclave,
    TenantDirectory tenants,
    TimeProvider time,
    IOptions<ServerOptions> options,
    RouterMetrics metrics,
    ILogger<InvocationService> log) : IHostedService, IAsyncDisposable
{
    /// <summary>The error code of an invocation cut short by the router stopping.</summary>
    public const string InterruptedCode = "interrupted";

    /// <summary>The detail recorded for <see cref="InterruptedCode"/>.</summary>
    public const string InterruptedDetail = "The router stopped while the invocation was running.";

    // How long a stopping router lets background invocations finish before cancelling them.
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly FairGate _gate = new("invocations", options.Value.MaxRunningInvocations, options.Value.MaxRunningInvocationsPerTenant, options.Value.MaxQueuedInvocationsPerTenant);
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<Task> _background = [];
    private readonly Lock _backgroundLock = new();
    private bool _stopped;
    private int _disposed;

    /// <summary>
    /// Admits and records a new running invocation of <paramref name="function"/> (sealed when <paramref name="sealedInput"/>
    /// is set); returns it and what the driver needs. It runs when <see cref="RunAsync"/> or <see cref="RunInBackground"/>
    /// gets its turn.
    /// </summary>
    /// <exception cref="TenantBusyException">The tenant has as many invocations running and waiting as it may; nothing was recorded.</exception>
    public async Task<(InvocationRecord Record, InvocationContext Context)> BeginAsync(string tenantId, string actor, FunctionVersionRecord function, string argsJson, byte[]? sealedInput, CancellationToken cancellationToken)
    {
        var admission = _gate.Enqueue(tenantId);
        try
        {
            var tenant = await tenants.GetAsync(tenantId, cancellationToken) ?? throw new InvalidOperationException("Caller's tenant does not exist.");
            var id = "inv_" + Base58.RandomString(22);
            var now = Now();
            var record = new InvocationRecord(
                id, tenantId, function.Name, function.Version, function.Measurement, InvocationStatus.Running,
                null, null, null, null, null, false, null, now, null, now + options.Value.InvocationRetention);
            await store.CreateInvocationAsync(record, new AuditEntry(tenantId, actor, "function.invoke", [id, function.Name], Describe(function, sealedInput is null ? "started" : "started sealed")), cancellationToken);
            return (record, new InvocationContext(tenantId, actor, id, function, argsJson, tenant.CurrentDataKeyVersion, sealedInput, admission));
        }
        catch
        {
            admission.Dispose();
            throw;
        }
    }

    /// <summary>Invocations running now, all tenants together (tests and diagnostics).</summary>
    internal int Running => _gate.Running;

    /// <summary>
    /// Runs a begun invocation to its end and records the outcome. It runs on the service's own stopping token, not the
    /// request's: a caller that disconnects does not leave a row running forever.
    /// </summary>
    public async Task<InvocationView> RunAsync(InvocationRecord record, InvocationContext context)
    {
        InvocationCompletedResponse done;
        var started = time.GetTimestamp();
        try
        {
            if (context.Admission is { } admission)
            {
                // Its turn in the gate: another tenant's invocations never hold this one back beyond its fair share.
                await admission.Granted.WaitAsync(_stopping.Token);
                started = time.GetTimestamp();
            }

            done = await driver.RunAsync(context, _stopping.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            done = Failure(context, InterruptedCode, InterruptedDetail);
        }
        catch (TransportUnavailableException)
        {
            // The worker died or is restarting: the invocation did not complete; the caller may run it again.
            done = Failure(context, Problems.WorkerUnavailableCode, "The enclave worker went away during the invocation; retry it.");
        }
        catch (FrameTooLargeException e)
        {
            // Only this invocation failed: its package, a store step or its completion did not fit in one frame.
            done = Failure(context, Problems.MessageTooLargeCode, $"A message of this invocation (its result and logs, a store step or its package) exceeds the {e.Limit} bytes the router and the enclave worker exchange at once.");
        }
        catch (Exception e)
        {
            // Whatever else broke (the store, a bug), the row must not stay running: record it as internal.
            LogMessages.InvocationFailed(log, e.GetType().Name);
            done = Failure(context, EnclaveErrorCodes.Internal, "The invocation could not be completed.");
        }
        finally
        {
            context.Admission?.Dispose();
        }

        // The driver hands over the worker's completions with a kept outcome or a sealed result, and its own failures
        // (fixed texts) without either; only the latter's detail is stored as it is.
        var warm = done.Warm;
        var elapsed = time.GetElapsedTime(started);
        var durationMs = (long)elapsed.TotalMilliseconds;
        var completion = done switch
        {
            { Stored: { } kept } => new InvocationCompletion(done.Error?.Code, null, kept.KeyVersion, kept.Ciphertext, null, warm, durationMs, Now()),
            { SealedResult: { } box } => new InvocationCompletion(null, null, null, null, box, warm, durationMs, Now()),
            _ => new InvocationCompletion(done.Error?.Code ?? EnclaveErrorCodes.Internal, done.Error?.Detail ?? "", null, null, null, warm, durationMs, Now()),
        };
        var targets = new List<string> { context.InvocationId, context.Function.Name };
        targets.AddRange(done.RevealedTokens.Where(t => t is not null));
        var audit = new AuditEntry(context.TenantId, context.Actor, "function.invoke.completed", targets, Describe(context.Function, completion.ErrorCode ?? (done.SealedResult is null ? "ok" : "sealed")));

        // The outcome and its audit entry are committed before anyone sees the result, whatever happened to the caller.
        await store.CompleteInvocationAsync(context.TenantId, context.InvocationId, completion, audit, CancellationToken.None);
        metrics.InvocationEnded(
            done.SealedResult is not null ? "sealed" : completion.ErrorCode is null ? "succeeded" : "failed",
            InvocationErrors.LabelOf(completion.ErrorCode),
            elapsed);
        var completed = record with
        {
            Status = completion.Status,
            ErrorCode = completion.ErrorCode,
            ErrorDetail = completion.ErrorDetail,
            OutcomeKeyVersion = completion.OutcomeKeyVersion,
            Outcome = completion.Outcome,
            SealedResult = completion.SealedResult,
            Warm = completion.Warm,
            DurationMs = completion.DurationMs,
            CompletedAt = completion.CompletedAt,
        };
        return new InvocationView(completed, done.SealedResult is { } sealedResult ? SealedResultJson(sealedResult) : done.ResultJson, done.Error?.Detail, [.. done.Logs.Where(l => l is not null)]);
    }

    /// <summary>Runs a begun invocation in the background; false when the router is stopping (the row stays running until the next start marks it interrupted).</summary>
    public bool RunInBackground(InvocationRecord record, InvocationContext context)
    {
        lock (_backgroundLock)
        {
            if (!_stopped)
            {
                var task = RunTrackedAsync(record, context);
                _background.Add(task);
                _ = task.ContinueWith(t => { lock (_backgroundLock) { _background.Remove(t); } }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return true;
            }
        }

        context.Admission?.Dispose();
        return false;
    }

    /// <summary>
    /// An unexpired invocation of the tenant, or null; a kept outcome is opened by the worker (under the data-key version
    /// it was kept under), whose refusal surfaces as an <see cref="EnclaveException"/>.
    /// </summary>
    public async Task<InvocationView?> GetAsync(string tenantId, string invocationId, CancellationToken cancellationToken)
    {
        // The tenant's turn for the worker first, then the outcome (up to ~85 MiB) is loaded: waiting reads hold no outcome.
        using var admission = await enclave.EnterAsync(tenantId, cancellationToken);
        var record = await store.GetInvocationAsync(tenantId, invocationId, time.GetUtcNow(), cancellationToken);
        switch (record)
        {
            case null:
                return null;

            case { Outcome: { } outcome, OutcomeKeyVersion: { } keyVersion }:
                var opened = await enclave.SendAsync<InvocationOutcomeResponse>(
                    new OpenInvocationOutcomeRequest(record.Id, new StoredOutcome(keyVersion, outcome)) { TenantId = tenantId },
                    admission,
                    cancellationToken);

                // The outcome is authenticated, the clear status and code beside it are not: the outcome says how it ended.
                var ended = record with { Status = opened.Error is null ? InvocationStatus.Succeeded : InvocationStatus.Failed, ErrorCode = opened.Error?.Code };
                return new InvocationView(ended, opened.ResultJson, opened.Error?.Detail, []);

            case { SealedResult: { } box }:
                return new InvocationView(record, SealedResultJson(box), null, []);

            default:
                return new InvocationView(record, null, record.ErrorDetail, []);
        }
    }

    /// <summary>The bytes <see cref="GetAsync"/> would load for the invocation, without loading them; null when there is no such invocation.</summary>
    public Task<long?> OutcomeLengthAsync(string tenantId, string invocationId, CancellationToken cancellationToken)
        => store.GetInvocationOutcomeLengthAsync(tenantId, invocationId, time.GetUtcNow(), cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Stops taking background work, lets running invocations finish for a short grace period, then cancels them.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var running = Stop();
        try
        {
            await Task.WhenAll(running).WaitAsync(StopGrace, time, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            // Fall through: cancel whatever is still running.
        }

        await _stopping.CancelAsync();
        await Task.WhenAll(running);
    }

    /// <remarks>Idempotent: the container disposes this instance once as itself and once as a hosted service.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var running = Stop();
        await _stopping.CancelAsync();
        await Task.WhenAll(running);
        _stopping.Dispose();
    }

    private Task[] Stop()
    {
        lock (_backgroundLock)
        {
            _stopped = true;
            return [.. _background];
        }
    }

    private async Task RunTrackedAsync(InvocationRecord record, InvocationContext context)
    {
        await Task.Yield();
        try
        {
            await RunAsync(record, context);
        }
        catch (Exception e)
        {
            // The row stays running; the next start marks it interrupted.
            LogMessages.BackgroundInvocationFailed(log, e.GetType().Name);
        }
    }

    /// <summary>Now, to the millisecond: what the store keeps, so a returned record equals the stored one.</summary>
    private DateTimeOffset Now() => DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());

    private static InvocationCompletedResponse Failure(InvocationContext context, string code, string detail)
        => new(context.InvocationId, null, new EnclaveError(code, detail), false, [], []);

    private static string Describe(FunctionVersionRecord function, string outcome)
        => $"version={function.Version} measurement={function.Measurement} outcome={outcome}";

    /// <summary>
    /// What the router stores and returns as a sealed invocation's result: <c>{"sealedResult": "base64"}</c>. The router
    /// cannot tell whether the function succeeded; the client opens the box and finds the result or the error, and the logs.
    /// </summary>
    public static string SealedResultJson(byte[] sealedResult)
        => JsonSerializer.Serialize(new SealedInvocationOutput(Convert.ToBase64String(sealedResult)), ApiJsonContext.Default.SealedInvocationOutput);
}
