using System.Text;

namespace Cloister.Storage.Tests;

public sealed class FunctionStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static string Measurement(char c) => new(c, 96);

    private static FunctionVersionRecord Candidate(string tenant, string name, char measurement)
        => new(tenant, name, 0, Measurement(measurement), "python3", $$"""{"runtime":"python3","m":"{{measurement}}"}""", StoreHarness.Start);

    private static byte[] Bundle(string text) => Encoding.UTF8.GetBytes("tar.gz:" + text);

    private static Func<FunctionVersionRecord, AuditEntry> DeployAudit
        => v => new AuditEntry(v.TenantId, "key_test", "function.deploy", [v.Name], $"version={v.Version}");

    private static async Task<StoreHarness> OpenWithTenantsAsync()
    {
        var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await Make.CreateTenantAsync(h.S, "ten_b");
        return h;
    }

    private static InvocationRecord Running(string tenant, string id, DateTimeOffset expires)
        => new(id, tenant, "score", 1, Measurement('a'), InvocationStatus.Running, null, null, null, null, null, false, null, StoreHarness.Start, null, expires);

    private static InvocationCompletion Kept(byte[] outcome, string? errorCode = null)
        => new(errorCode, null, 1, outcome, null, true, 12, StoreHarness.Start.AddSeconds(1));

    private static AuditEntry Audit(string tenant, string action, string id) => Make.Audit(tenant, action, id);

    [Fact]
    public async Task Deploy_NewMeasurements_NumberVersionsFromOne_AndListShowsTheLatest()
    {
        await using var h = await OpenWithTenantsAsync();
        var v1 = await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'a'), Bundle("one"), DeployAudit, None);
        var v2 = await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'b'), Bundle("two"), DeployAudit, None);
        await h.S.DeployFunctionAsync(Candidate("ten_a", "build", 'c'), Bundle("three"), DeployAudit, None);

        Assert.Equal((1, true), (v1.Version.Version, v1.Created));
        Assert.Equal((2, true), (v2.Version.Version, v2.Created));
        var list = await h.S.ListFunctionsAsync("ten_a", None);
        Assert.Equal(["build", "score"], list.Select(f => f.Name));
        Assert.Equal((2, Measurement('b')), (list[1].LatestVersion, list[1].Measurement));

        var versions = await h.S.GetFunctionVersionsAsync("ten_a", "score", None);
        Assert.Equal([1, 2], versions.Select(v => v.Version));
        Assert.Equal(Measurement('a'), (await h.S.GetFunctionVersionAsync("ten_a", "score", 1, None))!.Measurement);
        Assert.Equal(2, (await h.S.GetFunctionVersionAsync("ten_a", "score", null, None))!.Version);
        Assert.Null(await h.S.GetFunctionVersionAsync("ten_a", "score", 3, None));
        Assert.Equal(Bundle("one"), await h.S.GetFunctionBundleAsync("ten_a", "score", 1, None));
        Assert.Equal(Bundle("two"), await h.S.GetFunctionBundleAsync("ten_a", "score", 2, None));
    }

    [Fact]
    public async Task Deploy_TheLatestMeasurementAgain_ReturnsThatVersion_AndWritesNothing()
    {
        await using var h = await OpenWithTenantsAsync();
        await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'a'), Bundle("one"), DeployAudit, None);
        var auditBefore = h.Scalar("SELECT COUNT(*) FROM audit");

        var again = await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'a'), Bundle("one"), DeployAudit, None);

        Assert.False(again.Created);
        Assert.Equal(1, again.Version.Version);
        Assert.Equal(auditBefore, h.Scalar("SELECT COUNT(*) FROM audit"));
        Assert.Equal(1, h.Scalar("SELECT COUNT(*) FROM function_versions"));
    }

    [Fact]
    public async Task Deploy_AnOlderMeasurementAgain_IsANewVersion()
    {
        await using var h = await OpenWithTenantsAsync();
        await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'a'), Bundle("one"), DeployAudit, None);
        await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'b'), Bundle("two"), DeployAudit, None);
        var back = await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'a'), Bundle("one"), DeployAudit, None);
        Assert.Equal((3, true), (back.Version.Version, back.Created));
    }

    [Fact]
    public async Task ConcurrentDeploys_NumberVersionsWithoutGapsOrDuplicates()
    {
        await using var h = await OpenWithTenantsAsync();
        var deploys = Enumerable.Range(0, 20).Select(i =>
            h.S.DeployFunctionAsync(Candidate("ten_a", "score", (char)('A' + i)), Bundle(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), DeployAudit, None));
        var outcomes = await Task.WhenAll(deploys);
        Assert.Equal(Enumerable.Range(1, 20), outcomes.Select(o => o.Version.Version).Order());
    }

    [Fact]
    public async Task Functions_BelongToTheirTenant()
    {
        await using var h = await OpenWithTenantsAsync();
        await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'a'), Bundle("one"), DeployAudit, None);

        Assert.Empty(await h.S.ListFunctionsAsync("ten_b", None));
        Assert.Empty(await h.S.GetFunctionVersionsAsync("ten_b", "score", None));
        Assert.Null(await h.S.GetFunctionVersionAsync("ten_b", "score", null, None));
        Assert.Null(await h.S.GetFunctionBundleAsync("ten_b", "score", 1, None));
        Assert.Null(await h.S.DeleteFunctionAsync("ten_b", "score", Audit("ten_b", "function.delete", "score"), None));
        Assert.Single(await h.S.ListFunctionsAsync("ten_a", None));

        // The same name in another tenant is another function, numbered from 1.
        var other = await h.S.DeployFunctionAsync(Candidate("ten_b", "score", 'a'), Bundle("one"), DeployAudit, None);
        Assert.Equal((1, true), (other.Version.Version, other.Created));
    }

    [Fact]
    public async Task ListFunctionMeasurements_ReturnsEveryVersionOfEveryFunction_ByNameThenVersion_OfOneTenantOnly()
    {
        await using var h = await OpenWithTenantsAsync();
        await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'a'), Bundle("one"), DeployAudit, None);
        await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'b'), Bundle("two"), DeployAudit, None);
        await h.S.DeployFunctionAsync(Candidate("ten_a", "build", 'c'), Bundle("three"), DeployAudit, None);
        await h.S.DeployFunctionAsync(Candidate("ten_b", "other", 'd'), Bundle("four"), DeployAudit, None);
        await h.S.DeployFunctionAsync(Candidate("ten_a", "gone", 'e'), Bundle("five"), DeployAudit, None);
        await h.S.DeleteFunctionAsync("ten_a", "gone", Audit("ten_a", "function.delete", "gone"), None);

        Assert.Equal([Measurement('c'), Measurement('a'), Measurement('b')], await h.S.ListFunctionMeasurementsAsync("ten_a", None));
        Assert.Equal([Measurement('d')], await h.S.ListFunctionMeasurementsAsync("ten_b", None));
        Assert.Empty(await h.S.ListFunctionMeasurementsAsync("ten_none", None));
    }

    [Fact]
    public async Task Delete_RemovesEveryVersion_ReturnsTheirMeasurements_AndARedeployStartsAtOne()
    {
        await using var h = await OpenWithTenantsAsync();
        await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'a'), Bundle("one"), DeployAudit, None);
        await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'b'), Bundle("two"), DeployAudit, None);

        var measurements = await h.S.DeleteFunctionAsync("ten_a", "score", Audit("ten_a", "function.delete", "score"), None);

        Assert.Equal([Measurement('a'), Measurement('b')], measurements);
        Assert.Empty(await h.S.ListFunctionsAsync("ten_a", None));
        Assert.Null(await h.S.GetFunctionBundleAsync("ten_a", "score", 1, None));
        Assert.Equal(1, h.Scalar("SELECT COUNT(*) FROM audit WHERE action = 'function.delete'"));

        var auditBefore = h.Scalar("SELECT COUNT(*) FROM audit");
        Assert.Null(await h.S.DeleteFunctionAsync("ten_a", "score", Audit("ten_a", "function.delete", "score"), None));
        Assert.Equal(auditBefore, h.Scalar("SELECT COUNT(*) FROM audit"));

        var redeployed = await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'b'), Bundle("two"), DeployAudit, None);
        Assert.Equal((1, true), (redeployed.Version.Version, redeployed.Created));
    }

    [Fact]
    public async Task Invocation_IsRecordedRunning_ThenCompletedOnce()
    {
        await using var h = await OpenWithTenantsAsync();
        var expires = StoreHarness.Start.AddHours(24);
        await h.S.CreateInvocationAsync(Running("ten_a", "inv_1", expires), Audit("ten_a", "function.invoke", "inv_1"), None);
        Assert.Equal(InvocationStatus.Running, (await h.S.GetInvocationAsync("ten_a", "inv_1", StoreHarness.Start, None))!.Status);

        var outcome = Encoding.UTF8.GetBytes("the worker's ciphertext");
        Assert.True(await h.S.CompleteInvocationAsync("ten_a", "inv_1", Kept(outcome), Audit("ten_a", "function.invoke.completed", "inv_1"), None));

        var done = (await h.S.GetInvocationAsync("ten_a", "inv_1", StoreHarness.Start, None))!;
        Assert.Equal(outcome, done.Outcome);
        Assert.Equal(
            new InvocationRecord("inv_1", "ten_a", "score", 1, Measurement('a'), InvocationStatus.Succeeded, null, null, 1, null, null, true, 12, StoreHarness.Start, StoreHarness.Start.AddSeconds(1), expires),
            done with { Outcome = null });

        var failure = new InvocationCompletion("timeout", "too slow", null, null, null, false, 5, StoreHarness.Start);
        Assert.False(await h.S.CompleteInvocationAsync("ten_a", "inv_1", failure, Audit("ten_a", "function.invoke.completed", "inv_1"), None));
        Assert.Equal(InvocationStatus.Succeeded, (await h.S.GetInvocationAsync("ten_a", "inv_1", StoreHarness.Start, None))!.Status);
        Assert.Equal(1, h.Scalar("SELECT COUNT(*) FROM audit WHERE action = 'function.invoke.completed'"));
    }

    [Fact]
    public async Task Invocation_KeepsAFailedOutcomesCode_ASealedResult_AndTheRoutersOwnDetail()
    {
        await using var h = await OpenWithTenantsAsync();
        var expires = StoreHarness.Start.AddHours(1);
        foreach (var id in (string[])["inv_failed", "inv_sealed", "inv_router"])
        {
            await h.S.CreateInvocationAsync(Running("ten_a", id, expires), Audit("ten_a", "function.invoke", id), None);
        }

        await h.S.CompleteInvocationAsync("ten_a", "inv_failed", Kept([1, 2], "handler-error"), Audit("ten_a", "function.invoke.completed", "inv_failed"), None);
        await h.S.CompleteInvocationAsync("ten_a", "inv_sealed", new InvocationCompletion(null, null, null, null, [3, 4], false, 1, StoreHarness.Start), Audit("ten_a", "function.invoke.completed", "inv_sealed"), None);
        await h.S.CompleteInvocationAsync("ten_a", "inv_router", new InvocationCompletion("interrupted", "stopped", null, null, null, false, 1, StoreHarness.Start), Audit("ten_a", "function.invoke.completed", "inv_router"), None);

        var failed = (await h.S.GetInvocationAsync("ten_a", "inv_failed", StoreHarness.Start, None))!;
        var sealedOne = (await h.S.GetInvocationAsync("ten_a", "inv_sealed", StoreHarness.Start, None))!;
        var router = (await h.S.GetInvocationAsync("ten_a", "inv_router", StoreHarness.Start, None))!;
        Assert.Equal((InvocationStatus.Failed, "handler-error", (string?)null, 1), (failed.Status, failed.ErrorCode, failed.ErrorDetail, failed.OutcomeKeyVersion));
        Assert.Equal([1, 2], failed.Outcome);
        Assert.Equal((InvocationStatus.Succeeded, (byte[]?)null), (sealedOne.Status, sealedOne.Outcome));
        Assert.Equal([3, 4], sealedOne.SealedResult);
        Assert.Equal((InvocationStatus.Failed, "interrupted", "stopped", (byte[]?)null, (byte[]?)null), (router.Status, router.ErrorCode, router.ErrorDetail, router.Outcome, router.SealedResult));
    }

    public static TheoryData<string, InvocationCompletion> MalformedCompletions => new()
    {
        { "nothing at all", new InvocationCompletion(null, null, null, null, null, false, 1, StoreHarness.Start) },
        { "a clear detail beside the outcome", new InvocationCompletion("handler-error", "a value", 1, [1], null, false, 1, StoreHarness.Start) },
        { "an outcome without its key version", new InvocationCompletion(null, null, null, [1], null, false, 1, StoreHarness.Start) },
        { "an outcome and a sealed result", new InvocationCompletion(null, null, 1, [1], [2], false, 1, StoreHarness.Start) },
        { "a code without a detail", new InvocationCompletion("internal", null, null, null, null, false, 1, StoreHarness.Start) },
        { "a sealed result with a code", new InvocationCompletion("internal", null, null, null, [2], false, 1, StoreHarness.Start) },
    };

    [Theory]
    [MemberData(nameof(MalformedCompletions))]
    public async Task Complete_RefusesACompletionOfNoKnownShape(string why, InvocationCompletion completion)
    {
        await using var h = await OpenWithTenantsAsync();
        await h.S.CreateInvocationAsync(Running("ten_a", "inv_1", StoreHarness.Start.AddHours(1)), Audit("ten_a", "function.invoke", "inv_1"), None);

        await Assert.ThrowsAsync<ArgumentException>(() => h.S.CompleteInvocationAsync("ten_a", "inv_1", completion, Audit("ten_a", "function.invoke.completed", "inv_1"), None));
        Assert.True(InvocationStatus.Running == (await h.S.GetInvocationAsync("ten_a", "inv_1", StoreHarness.Start, None))!.Status, why);
    }

    [Fact]
    public async Task Invocation_OfAnotherTenant_OrExpired_IsNotFound_AndCannotBeCompletedByAnotherTenant()
    {
        await using var h = await OpenWithTenantsAsync();
        var expires = StoreHarness.Start.AddHours(1);
        await h.S.CreateInvocationAsync(Running("ten_a", "inv_1", expires), Audit("ten_a", "function.invoke", "inv_1"), None);

        Assert.Null(await h.S.GetInvocationAsync("ten_b", "inv_1", StoreHarness.Start, None));
        Assert.Null(await h.S.GetInvocationAsync("ten_a", "inv_1", expires, None));
        Assert.False(await h.S.CompleteInvocationAsync("ten_b", "inv_1", Kept([1]), Audit("ten_b", "function.invoke.completed", "inv_1"), None));
    }

    [Fact]
    public async Task PurgeExpiredInvocations_DeletesOnlyExpiredRows()
    {
        await using var h = await OpenWithTenantsAsync();
        await h.S.CreateInvocationAsync(Running("ten_a", "inv_old", StoreHarness.Start.AddMinutes(1)), Audit("ten_a", "function.invoke", "inv_old"), None);
        await h.S.CreateInvocationAsync(Running("ten_a", "inv_new", StoreHarness.Start.AddHours(1)), Audit("ten_a", "function.invoke", "inv_new"), None);

        Assert.Equal(1, await h.S.PurgeExpiredInvocationsAsync(StoreHarness.Start.AddMinutes(1), None));
        Assert.Equal(1, h.Scalar("SELECT COUNT(*) FROM invocations WHERE id = 'inv_new'"));
        Assert.Equal(0, h.Scalar("SELECT COUNT(*) FROM invocations WHERE id = 'inv_old'"));
        Assert.Equal(0, await h.S.PurgeExpiredInvocationsAsync(StoreHarness.Start.AddMinutes(1), None));
    }

    [Fact]
    public async Task FailRunningInvocations_MarksOnlyRunningOnes_WithTheCode_AndAuditsEach()
    {
        await using var h = await OpenWithTenantsAsync();
        var expires = StoreHarness.Start.AddHours(1);
        await h.S.CreateInvocationAsync(Running("ten_a", "inv_run", expires), Audit("ten_a", "function.invoke", "inv_run"), None);
        await h.S.CreateInvocationAsync(Running("ten_b", "inv_done", expires), Audit("ten_b", "function.invoke", "inv_done"), None);
        await h.S.CompleteInvocationAsync("ten_b", "inv_done", Kept([1]), Audit("ten_b", "function.invoke.completed", "inv_done"), None);

        var at = StoreHarness.Start.AddSeconds(30);
        Assert.Equal(1, await h.S.FailRunningInvocationsAsync("interrupted", "stopped", at, None));

        var failed = (await h.S.GetInvocationAsync("ten_a", "inv_run", StoreHarness.Start, None))!;
        Assert.Equal((InvocationStatus.Failed, "interrupted", "stopped", at, 30_000L), (failed.Status, failed.ErrorCode, failed.ErrorDetail, failed.CompletedAt, failed.DurationMs));
        Assert.Equal(InvocationStatus.Succeeded, (await h.S.GetInvocationAsync("ten_b", "inv_done", StoreHarness.Start, None))!.Status);
        Assert.Equal(0, await h.S.FailRunningInvocationsAsync("interrupted", "stopped", at, None));
    }

    [Fact]
    public async Task FunctionsAndInvocations_SurviveReopen_AndTheAuditChainVerifies()
    {
        await using var h = await OpenWithTenantsAsync();
        await h.S.DeployFunctionAsync(Candidate("ten_a", "score", 'a'), Bundle("one"), DeployAudit, None);
        await h.S.CreateInvocationAsync(Running("ten_a", "inv_1", StoreHarness.Start.AddHours(1)), Audit("ten_a", "function.invoke", "inv_1"), None);

        await h.ReopenAsync();

        Assert.Equal(Bundle("one"), await h.S.GetFunctionBundleAsync("ten_a", "score", 1, None));
        Assert.NotNull(await h.S.GetInvocationAsync("ten_a", "inv_1", StoreHarness.Start, None));
        await h.CloseAsync();
        Assert.True(AuditVerifier.Verify(h.Directory).Ok);
    }
}
