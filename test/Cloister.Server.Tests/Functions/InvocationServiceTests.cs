using Cloister.Protocol;
using Cloister.Server.Functions;
using Cloister.Storage;

namespace Cloister.Server.Tests.Functions;

/// <summary>Invocation records and their audit entries, and what happens to background invocations when the router stops.</summary>
public sealed class InvocationServiceTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<InvocationRecord> StoredAsync(DriverHarness h, string id)
        => (await h.Store.GetInvocationAsync(DriverHarness.TenantA, id, DateTimeOffset.UtcNow, None))!;

    [Fact]
    public async Task Run_RecordsTheOutcome_AndAuditsStartAndCompletionWithTheRevealedTokenIds()
    {
        await using var h = await DriverHarness.StartAsync((request, _) =>
            DriverHarness.Completed("""{"score":7}""", revealed: ["tok_revealed"]) with { InvocationId = ((InvokeFunctionRequest)request).InvocationId });
        await using var service = h.Service();

        var (record, context) = await service.BeginAsync(DriverHarness.TenantA, "key_caller", h.Function, """{"a":1}""", null, None);
        Assert.Equal(InvocationStatus.Running, (await StoredAsync(h, record.Id)).Status);
        var done = await service.RunAsync(record, context);

        // The caller gets the result and logs; the store keeps only the enclave's encryption of the outcome.
        Assert.Equal("""{"score":7}""", done.ResultJson);
        Assert.Equal(["done"], done.Logs);
        var stored = await StoredAsync(h, record.Id);
        Assert.Equal(done.Record with { Outcome = null }, stored with { Outcome = null });
        Assert.Equal(DriverHarness.Kept.Ciphertext, stored.Outcome);
        Assert.Equal((InvocationStatus.Succeeded, 1, true, (string?)null, (byte[]?)null), (stored.Status, stored.OutcomeKeyVersion, stored.Warm, stored.ErrorDetail, stored.SealedResult));
        Assert.True(stored.ExpiresAt > stored.CreatedAt.AddHours(23));

        var audit = h.Query("SELECT action, actor, targets, detail FROM audit WHERE action LIKE 'function.invoke%' ORDER BY seq");
        Assert.Equal(
            [
                ["function.invoke", "key_caller", $"[\"{record.Id}\",\"score\"]", $"version=1 measurement={DriverHarness.Measurement} outcome=started"],
                ["function.invoke.completed", "key_caller", $"[\"{record.Id}\",\"score\",\"tok_revealed\"]", $"version=1 measurement={DriverHarness.Measurement} outcome=ok"],
            ],
            audit);
    }

    [Fact]
    public async Task Get_HasTheEnclaveOpenTheKeptOutcome_UnderItsKeyVersion()
    {
        await using var h = await DriverHarness.StartAsync((request, _) => request switch
        {
            InvokeFunctionRequest invoke => new InvocationCompletedResponse(invoke.InvocationId, """{"score":7}""", null, true, ["done"], [], Stored: DriverHarness.Kept with { KeyVersion = 3 }),
            OpenInvocationOutcomeRequest => new InvocationOutcomeResponse(null, new EnclaveError("handler-error", "ValueError: the detail")),
            _ => throw new InvalidOperationException(),
        });
        await using var service = h.Service();
        var (record, context) = await service.BeginAsync(DriverHarness.TenantA, "key_caller", h.Function, "{}", null, None);
        await service.RunAsync(record, context);

        var view = await service.GetAsync(DriverHarness.TenantA, record.Id, None);

        var open = Assert.IsType<OpenInvocationOutcomeRequest>(h.Enclave.Received[^1]);
        Assert.Equal((DriverHarness.TenantA, record.Id, 3), (open.TenantId, open.InvocationId, open.Outcome.KeyVersion));
        Assert.Equal(DriverHarness.Kept.Ciphertext, open.Outcome.Ciphertext);

        // What the authenticated outcome says wins over the clear status beside it.
        Assert.Equal((InvocationStatus.Failed, "handler-error", "ValueError: the detail", (string?)null), (view!.Record.Status, view.Record.ErrorCode, view.ErrorDetail, view.ResultJson));
        Assert.Null(await service.GetAsync(DriverHarness.TenantB, record.Id, None));
    }

    [Fact]
    public async Task Run_EnclaveThatThrows_IsRecordedInternal_NotLeftRunning()
    {
        await using var h = await DriverHarness.StartAsync((_, _) => throw new InvalidOperationException("transport broke"));
        await using var service = h.Service();

        var (record, context) = await service.BeginAsync(DriverHarness.TenantA, "key_caller", h.Function, "{}", null, None);
        var done = await service.RunAsync(record, context);

        Assert.Equal((InvocationStatus.Failed, "internal"), (done.Record.Status, done.Record.ErrorCode));
        var stored = await StoredAsync(h, record.Id);
        Assert.Equal((InvocationStatus.Failed, "The invocation could not be completed.", (byte[]?)null), (stored.Status, stored.ErrorDetail, stored.Outcome));
    }

    [Fact]
    public async Task Run_AResultThatIsNotJson_IsRecordedInternal()
    {
        await using var h = await DriverHarness.StartAsync((request, _) =>
            new InvocationCompletedResponse(((InvokeFunctionRequest)request).InvocationId, "{not json", null, false, [], [], Stored: DriverHarness.Kept));
        await using var service = h.Service();

        var (record, context) = await service.BeginAsync(DriverHarness.TenantA, "key_caller", h.Function, "{}", null, None);
        var done = await service.RunAsync(record, context);

        Assert.Equal(("internal", (string?)null, (byte[]?)null), (done.Record.ErrorCode, done.ResultJson, done.Record.Outcome));
    }

    [Fact]
    public async Task Dispose_CancelsABackgroundInvocation_AndRecordsItInterrupted()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var h = await DriverHarness.StartAsync(async (request, _, cancellationToken) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        });
        var service = h.Service();
        var (record, context) = await service.BeginAsync(DriverHarness.TenantA, "key_caller", h.Function, "{}", null, None);

        Assert.True(service.RunInBackground(record, context));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await service.DisposeAsync();

        var stored = await StoredAsync(h, record.Id);
        Assert.Equal((InvocationStatus.Failed, InvocationService.InterruptedCode), (stored.Status, stored.ErrorCode));
        Assert.False(service.RunInBackground(record, context));
    }

    [Fact]
    public async Task Stop_LetsAShortBackgroundInvocationFinish()
    {
        await using var h = await DriverHarness.StartAsync(async (request, _, cancellationToken) =>
        {
            await Task.Delay(200, cancellationToken);
            return new InvocationCompletedResponse(((InvokeFunctionRequest)request).InvocationId, "1", null, false, [], [], Stored: DriverHarness.Kept);
        });
        await using var service = h.Service();
        var (record, context) = await service.BeginAsync(DriverHarness.TenantA, "key_caller", h.Function, "{}", null, None);

        Assert.True(service.RunInBackground(record, context));
        await service.StopAsync(None);

        var stored = await StoredAsync(h, record.Id);
        Assert.Equal((InvocationStatus.Succeeded, 1), (stored.Status, stored.OutcomeKeyVersion));
    }
}
