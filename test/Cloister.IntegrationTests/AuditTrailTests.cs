using Cloister.IntegrationTests.Support;

namespace Cloister.IntegrationTests;

/// <summary>What the audit log records for each operation, read from the live database.</summary>
public sealed class AuditTrailTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    private sealed record Row(long Seq, string? Tenant, string Actor, string Action, string Targets, string? Detail);

    [Fact]
    public async Task CreateRevealDelete_EachAppendAnEntryNamingTheToken_AndNoneHoldsTheValue()
    {
        var tenant = await _server.CreateTenantAsync();
        var value = Values.Unique("audited");
        var start = LastSeq();

        var token = await _server.CreateTokenAsync(tenant.Key, new { value });
        var created = Assert.Single(RowsAfter(start), r => r.Targets.Contains(token, StringComparison.Ordinal));
        Assert.Contains("create", created.Action, StringComparison.Ordinal);
        Assert.Equal(tenant.Id, created.Tenant);
        Assert.Equal(tenant.KeyId, created.Actor);

        // The reveal's entry is committed before the value comes back.
        var beforeReveal = LastSeq();
        Assert.Equal(value, await _server.RevealValueAsync(tenant.Key, token));
        var revealed = Assert.Single(RowsAfter(beforeReveal), r => r.Targets.Contains(token, StringComparison.Ordinal));
        Assert.Contains("reveal", revealed.Action, StringComparison.Ordinal);

        var beforeDelete = LastSeq();
        (await _server.DeleteAsync(tenant.Key, token)).Expect(204);
        var deleted = Assert.Single(RowsAfter(beforeDelete), r => r.Targets.Contains(token, StringComparison.Ordinal));
        Assert.Contains("delete", deleted.Action, StringComparison.Ordinal);

        foreach (var row in RowsAfter(start))
        {
            Assert.DoesNotContain(value, $"{row.Actor} {row.Action} {row.Targets} {row.Detail}", StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Batch_IsOneEntryListingEveryTokenId()
    {
        var tenant = await _server.CreateTenantAsync();
        var start = LastSeq();

        var batch = (await _server.BatchAsync(tenant.Key, Enumerable.Range(0, 5).Select(i => (object)new { value = $"batch-audit-{i}" }))).Expect(200);
        var tokens = batch.Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("token").GetString()!).ToList();

        var entries = RowsAfter(start).Where(r => r.Tenant == tenant.Id).ToList();
        var entry = Assert.Single(entries);
        foreach (var token in tokens)
        {
            Assert.Contains(token, entry.Targets, StringComparison.Ordinal);
        }
    }

    /// <summary>Failed lookups (the reveal below) are aggregated into one entry per key and interval (FailedLookupAuditTests), not one per request.</summary>
    [Fact]
    public async Task FailedRequests_AppendNothing()
    {
        var tenant = await _server.CreateTenantAsync();
        var start = LastSeq();

        ProblemAssert.Is(await _server.CreateAsync(tenant.Key, new { value = "4111111111111112", format = "pan" }), 400, "invalid-card-number");
        ProblemAssert.Is(await _server.BatchAsync(tenant.Key, [new { value = "fine" }, new { value = "x", format = "bogus" }]), 400, "unknown-format");
        ProblemAssert.Is(await _server.RevealAsync(tenant.Key, "tok_" + new string('1', 22)), 404, "token-not-found");

        Assert.DoesNotContain(RowsAfter(start), r => r.Tenant == tenant.Id && r.Action != "token.lookup.failed");
    }

    [Fact]
    public async Task ApiKeyAndDataKeyOperations_AreAudited()
    {
        var tenant = await _server.CreateTenantAsync();
        var start = LastSeq();

        var (keyId, _) = await _server.CreateApiKeyAsync(tenant.Id, "tokens:write");
        await _server.RevokeApiKeyAsync(tenant.Id, keyId);
        await _server.RotateAsync(tenant.Id);

        var rows = RowsAfter(start).Where(r => r.Tenant == tenant.Id).ToList();
        Assert.Equal(2, rows.Count(r => r.Targets.Contains(keyId, StringComparison.Ordinal)));
        Assert.Contains(rows, r => r.Action.Contains("revoke", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Action.Contains("rotate", StringComparison.Ordinal));
    }

    private long LastSeq() => VaultDatabase.Scalar(_server.DataDirectory, "SELECT coalesce(max(seq), 0) FROM audit");

    private List<Row> RowsAfter(long seq)
        => [.. VaultDatabase.Query(_server.DataDirectory, "SELECT seq, tenant_id, actor, action, targets, detail FROM audit WHERE seq > $seq ORDER BY seq", ("$seq", seq))
            .Select(r => new Row((long)r[0]!, (string?)r[1], (string)r[2]!, (string)r[3]!, (string)r[4]!, (string?)r[5]))];
}
