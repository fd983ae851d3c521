namespace Cloister.Storage.Tests;

public sealed class ConcurrencyTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task ParallelInsertsAndAppends_LoseNothingAndTheChainVerifies()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await Make.CreateTenantAsync(h.S, "ten_b");
        const int Workers = 32;
        const int PerWorker = 40;

        var seqs = await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var tenant = w % 2 == 0 ? "ten_a" : "ten_b";
            var mine = new List<long>();
            for (var i = 0; i < PerWorker; i++)
            {
                var outcomes = await h.S.InsertTokensAsync(tenant, [Make.Token(tenant, $"tok_{w}_{i}")], Make.CreateAudit(tenant), None);
                Assert.Equal(InsertStatus.Inserted, outcomes[0].Status);
                if (i % 10 == 0)
                {
                    var batch = Enumerable.Range(0, 25).Select(j => Make.Token(tenant, $"batch_{w}_{i}_{j}")).ToList();
                    Assert.All(await h.S.InsertTokensAsync(tenant, batch, Make.CreateAudit(tenant), None), o => Assert.Equal(InsertStatus.Inserted, o.Status));
                }

                mine.Add(await h.S.AppendAuditAsync(Make.Audit(tenant, "token.reveal", $"tok_{w}_{i}"), None));
            }

            return mine;
        })));

        var appended = seqs.SelectMany(s => s).ToList();
        Assert.Equal(Workers * PerWorker, appended.Distinct().Count());
        var tokens = Workers * PerWorker + Workers * (PerWorker / 10) * 25;
        Assert.Equal(tokens, h.Scalar("SELECT count(*) FROM tokens"));

        // 2 tenant creations, then one entry per insert call, per batch call and per append.
        var entries = 2 + Workers * PerWorker * 2 + Workers * (PerWorker / 10);
        Assert.Equal(entries, h.Scalar("SELECT count(*) FROM audit"));
        Assert.Equal(entries, h.Scalar("SELECT max(seq) FROM audit"));
        await h.CloseAsync();
        Assert.Equal(new AuditVerifyResult(true, entries, null, null), AuditVerifier.Verify(h.Directory));
    }

    [Fact]
    public async Task OneFailingWriteInAGroup_DoesNotUndoTheOthers()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");

        // Queued together, these share transactions; the failures roll back to their own savepoints only.
        var writes = Enumerable.Range(0, 200).Select(i => i % 7 == 0
            ? h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", $"tok_{i}")], _ => throw new InvalidOperationException("audit callback failed"), None)
            : h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", $"tok_{i}")], Make.CreateAudit("ten_a"), None)).ToList();
        foreach (var (write, i) in writes.Select((w, i) => (w, i)))
        {
            if (i % 7 == 0)
            {
                await Assert.ThrowsAsync<InvalidOperationException>(() => write);
            }
            else
            {
                Assert.Equal(InsertStatus.Inserted, (await write)[0].Status);
            }
        }

        var failed = Enumerable.Range(0, 200).Count(i => i % 7 == 0);
        Assert.Equal(200 - failed, h.Scalar("SELECT count(*) FROM tokens"));
        Assert.Equal(1 + 200 - failed, h.Scalar("SELECT count(*) FROM audit"));
        await h.CloseAsync();
        Assert.True(AuditVerifier.Verify(h.Directory).Ok);
    }

    [Fact]
    public async Task Dispose_CompletesQueuedWritesFirst()
    {
        await using var h = await StoreHarness.OpenAsync();
        var appends = Enumerable.Range(0, 500).Select(i => h.S.AppendAuditAsync(Make.Audit(null, "token.reveal", $"tok_{i}"), None)).ToList();

        await h.CloseAsync();

        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), (await Task.WhenAll(appends)).Order());
        Assert.Equal(new AuditVerifyResult(true, 500, null, null), AuditVerifier.Verify(h.Directory));
    }

    [Fact]
    public async Task Operations_AfterDispose_Throw()
    {
        var h = await StoreHarness.OpenAsync();
        var store = h.S;
        await h.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.AppendAuditAsync(Make.Audit(null, "x"), None));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetTenantAsync("ten_a", None));
    }
}
