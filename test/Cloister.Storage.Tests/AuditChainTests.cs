using System.Runtime.Versioning;

namespace Cloister.Storage.Tests;

public sealed class AuditChainTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A store whose log holds exactly <paramref name="entries"/> entries (seq 1..n), closed.</summary>
    private static async Task<StoreHarness> LogWithAsync(int entries)
    {
        var h = await StoreHarness.OpenAsync();
        for (var i = 1; i <= entries; i++)
        {
            h.Clock.SetUtcNow(StoreHarness.Start.AddSeconds(i));
            var seq = await h.S.AppendAuditAsync(new AuditEntry(i % 3 == 0 ? null : "ten_a", "key_test", "token.reveal", [$"tok_{i}", "ü✓"], i % 2 == 0 ? $"detail {i}" : null), None);
            Assert.Equal(i, seq);
        }

        await h.CloseAsync();
        return h;
    }

    private static void AssertBad(AuditVerifyResult result, long? firstBadSeq, string reason)
    {
        Assert.False(result.Ok);
        Assert.Equal(firstBadSeq, result.FirstBadSeq);
        Assert.Equal(reason, result.Reason);
    }

    [Fact]
    public async Task Verify_GoodLog_IsOk()
    {
        await using var h = await LogWithAsync(10);

        var result = AuditVerifier.Verify(h.Directory);

        Assert.Equal(new AuditVerifyResult(true, 10, null, null), result);
    }

    [Fact]
    public async Task Verify_NewStoreWithEmptyLog_IsOk()
    {
        await using var h = await StoreHarness.OpenAsync();

        Assert.Equal(new AuditVerifyResult(true, 0, null, null), AuditVerifier.Verify(h.Directory));
    }

    [Fact]
    public async Task AppendAudit_StoresEntryWithClockTimeAndJsonTargets()
    {
        await using var h = await StoreHarness.OpenAsync();
        h.Clock.SetUtcNow(StoreHarness.Start.AddMinutes(3));

        var seq = await h.S.AppendAuditAsync(new AuditEntry("ten_a", "key_1", "token.reveal", ["tok_1", "tok_2"], "why"), None);

        Assert.Equal(1, seq);
        Assert.Equal(StoreHarness.Start.AddMinutes(3).ToUnixTimeMilliseconds(), h.Scalar("SELECT at FROM audit WHERE seq = 1"));
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE tenant_id = 'ten_a' AND actor = 'key_1' AND targets = '[\"tok_1\",\"tok_2\"]' AND detail = 'why' AND length(mac) = 32"));
    }

    [Theory]
    [InlineData("UPDATE audit SET action = 'token.create' WHERE seq = 5")]
    [InlineData("UPDATE audit SET targets = '[\"tok_other\",\"ü✓\"]' WHERE seq = 5")]
    [InlineData("UPDATE audit SET targets = '[\"tok_5\"]' WHERE seq = 5")]
    [InlineData("UPDATE audit SET at = at + 1 WHERE seq = 5")]
    [InlineData("UPDATE audit SET tenant_id = 'ten_b' WHERE seq = 5")]
    [InlineData("UPDATE audit SET actor = 'key_admin' WHERE seq = 5")]
    [InlineData("UPDATE audit SET detail = 'added' WHERE seq = 5")]
    [InlineData("UPDATE audit SET detail = '' WHERE seq = 5")]
    [InlineData("UPDATE audit SET mac = zeroblob(32) WHERE seq = 5")]
    public async Task Verify_EditedColumn_NamesTheEditedEntry(string edit)
    {
        await using var h = await LogWithAsync(10);
        Assert.Equal(1, h.Tamper(edit));

        AssertBad(AuditVerifier.Verify(h.Directory), 5, "entry 5: MAC mismatch (edited or reordered)");
    }

    /// <summary>A tampering (the former test's name), the log's length, the SQL that tampers, the entry named, the reason given.</summary>
    public static TheoryData<string, int, string, long?, string> Tamperings => new()
    {
        { "TargetsNotAJsonArray_NamesTheEntryAsMalformed", 10, "UPDATE audit SET targets = 'tok_5' WHERE seq = 5", 5, "entry 5: malformed (JsonException)" },
        { "TwoEntriesSwapped_NamesTheFirst", 10, "UPDATE audit SET seq = -4 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -4;", 3, "entry 3: MAC mismatch (edited or reordered)" },
        { "DeletedMiddleEntry_NamesTheGap", 10, "DELETE FROM audit WHERE seq = 5", 5, "entry 5 missing (gap after 4)" },
        { "DeletedMiddleEntryAndRenumbered_NamesTheEntryAfterTheHole", 10, "DELETE FROM audit WHERE seq = 5; UPDATE audit SET seq = seq - 1 WHERE seq > 5;", 5, "entry 5: MAC mismatch (edited or reordered)" },
        { "DeletedFirstEntry_SaysTheLogDoesNotStartAtOne", 10, "DELETE FROM audit WHERE seq = 1", 1, "entry 1 missing (the log starts at 2)" },
        { "DeletedLastEntry_IsTruncation", 10, "DELETE FROM audit WHERE seq = 10", 10, "chain ends at 9 but the checkpoint says 10 (truncated)" },
        { "DeletedLastThreeEntries_IsTruncation", 10, "DELETE FROM audit WHERE seq > 7", 8, "chain ends at 7 but the checkpoint says 10 (truncated)" },
        { "DeletedWholeLog_IsTruncation", 3, "DELETE FROM audit", 1, "chain ends at 0 but the checkpoint says 3 (truncated)" },
        { "ForgedEntryAppended_NamesIt", 10, "INSERT INTO audit (seq, at, tenant_id, actor, action, targets, detail, mac) SELECT 11, at + 1, tenant_id, actor, 'apikey.create', targets, detail, mac FROM audit WHERE seq = 10", 11, "entry 11: MAC mismatch (edited or reordered)" },
        { "EntryReinsertedWithOtherContent_NamesIt", 10, "CREATE TEMP TABLE saved AS SELECT * FROM audit WHERE seq = 6; DELETE FROM audit WHERE seq = 6; INSERT INTO audit SELECT seq, at, tenant_id, 'key_innocent', action, targets, detail, mac FROM saved;", 6, "entry 6: MAC mismatch (edited or reordered)" },
    };

    [Theory]
    [MemberData(nameof(Tamperings))]
    public async Task Verify_TamperedLog_NamesTheFirstBadEntryAndWhy(string tampering, int entries, string sql, long? firstBadSeq, string reason)
    {
        Assert.NotEmpty(tampering);
        await using var h = await LogWithAsync(entries);
        h.Tamper(sql);

        AssertBad(AuditVerifier.Verify(h.Directory), firstBadSeq, reason);
    }

    [Fact]
    public async Task Verify_ForgedCheckpoint_IsReported()
    {
        await using var h = await LogWithAsync(10);
        var head = Path.Combine(h.Directory, SqliteVaultStore.AuditHeadFileName);
        var bytes = File.ReadAllBytes(head);
        bytes[7] = 7; // claim the chain ends at entry 7, to hide deleting 8..10
        File.WriteAllBytes(head, bytes);

        AssertBad(AuditVerifier.Verify(h.Directory), null, "checkpoint MAC invalid");
    }

    [Fact]
    public async Task Verify_CheckpointFromAnEarlierMomentAfterTruncation_IsTruncation()
    {
        // Replaying an old, genuinely signed checkpoint cannot hide deleted entries that the old one named.
        await using var h = await LogWithAsync(10);
        var head = Path.Combine(h.Directory, SqliteVaultStore.AuditHeadFileName);
        var atTen = File.ReadAllBytes(head);
        await h.ReopenAsync();
        await h.S.AppendAuditAsync(Make.Audit("ten_a", "token.reveal", "tok_x"), None);
        await h.CloseAsync();
        h.Tamper("DELETE FROM audit WHERE seq >= 10");
        File.WriteAllBytes(head, atTen);

        AssertBad(AuditVerifier.Verify(h.Directory), 10, "chain ends at 9 but the checkpoint says 10 (truncated)");
    }

    [Fact]
    public async Task Verify_CheckpointMissingWithEntries_IsReported()
    {
        await using var h = await LogWithAsync(4);
        File.Delete(Path.Combine(h.Directory, SqliteVaultStore.AuditHeadFileName));

        AssertBad(AuditVerifier.Verify(h.Directory), null, "audit.head missing (the log has 4 entries)");
    }

    [Fact]
    public async Task Verify_KeyMissing_IsReported()
    {
        await using var h = await LogWithAsync(4);
        File.Delete(Path.Combine(h.Directory, SqliteVaultStore.AuditKeyFileName));

        AssertBad(AuditVerifier.Verify(h.Directory), null, "audit.key missing");
    }

    [Fact]
    public async Task Open_KeyMissingButDatabaseExists_RefusesInsteadOfStartingANewChain()
    {
        await using var h = await LogWithAsync(4);
        await h.CloseAsync();
        File.Delete(Path.Combine(h.Directory, SqliteVaultStore.AuditKeyFileName));

        var error = await Assert.ThrowsAsync<VaultStoreException>(() => h.ReopenAsync());

        Assert.Contains("audit.key is missing", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(h.Directory, SqliteVaultStore.AuditKeyFileName)));
    }

    [Fact]
    public async Task Verify_WithAnotherKey_FailsAtTheFirstEntry()
    {
        await using var h = await LogWithAsync(4);
        File.WriteAllBytes(Path.Combine(h.Directory, SqliteVaultStore.AuditKeyFileName), new byte[32]);

        AssertBad(AuditVerifier.Verify(h.Directory), 1, "entry 1: MAC mismatch (edited or reordered)");
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task KeyAndCheckpointFiles_AreOwnerOnly()
    {
        await using var h = await LogWithAsync(1);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(h.Directory, SqliteVaultStore.AuditKeyFileName)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(h.Directory, SqliteVaultStore.AuditHeadFileName)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(h.DatabasePath));
        Assert.Equal(32, new FileInfo(Path.Combine(h.Directory, SqliteVaultStore.AuditKeyFileName)).Length);
        Assert.Equal(72, new FileInfo(Path.Combine(h.Directory, SqliteVaultStore.AuditHeadFileName)).Length);
    }

    [Fact]
    public async Task Reopen_KeepsEverythingAndTheChainContinues()
    {
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1", deterministicKey: [1])], Make.CreateAudit("ten_a"), None);
        await h.S.CreateApiKeyAsync(new ApiKeyRecord("key_t", "ten_a", [1], ["tokens:write"], StoreHarness.Start, null), Make.Audit("ten_a", "apikey.create"), None);
        var key = File.ReadAllBytes(Path.Combine(h.Directory, SqliteVaultStore.AuditKeyFileName));

        await h.ReopenAsync();

        Assert.NotNull(await h.S.GetTenantAsync("ten_a", None));
        Assert.NotNull(await h.S.GetTokenAsync("ten_a", "tok_1", None));
        Assert.NotNull(await h.S.GetApiKeyAsync("key_t", None));
        Assert.Equal(key, File.ReadAllBytes(Path.Combine(h.Directory, SqliteVaultStore.AuditKeyFileName)));
        Assert.Equal(4, await h.S.AppendAuditAsync(Make.Audit("ten_a", "token.reveal", "tok_1"), None));
        await h.CloseAsync();
        Assert.Equal(new AuditVerifyResult(true, 4, null, null), AuditVerifier.Verify(h.Directory));
    }

    [Fact]
    public async Task Open_SameDirectoryTwice_IsRefused()
    {
        await using var h = await StoreHarness.OpenAsync();

        var error = await Assert.ThrowsAsync<VaultStoreException>(() => SqliteVaultStore.OpenAsync(new StoreOptions(h.Directory), h.Clock, None));
        Assert.Contains("in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_AfterTruncation_ContinuesAfterTheCheckpointSoVerifyStillReportsIt()
    {
        await using var h = await LogWithAsync(10);
        h.Tamper("DELETE FROM audit WHERE seq > 8");

        await h.ReopenAsync();
        var seq = await h.S.AppendAuditAsync(Make.Audit("ten_a", "token.reveal"), None);
        await h.CloseAsync();

        Assert.Equal(12, seq); // 11 is the anomaly entry written at open
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE seq = 11 AND action = 'audit.checkpoint.anomaly'"));
        AssertBad(AuditVerifier.Verify(h.Directory), 9, "entry 9 missing (gap after 8)");
    }

    [Fact]
    public async Task Open_WithForgedCheckpoint_RecordsAnAnomalyEntry()
    {
        await using var h = await LogWithAsync(5);
        File.WriteAllBytes(Path.Combine(h.Directory, SqliteVaultStore.AuditHeadFileName), new byte[72]);

        await h.ReopenAsync();
        await h.CloseAsync();

        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE seq = 6 AND action = 'audit.checkpoint.anomaly' AND detail LIKE '%failed its MAC check%'"));
        Assert.True(AuditVerifier.Verify(h.Directory).Ok);
    }

    [Fact]
    public async Task Verify_WhileTheStoreIsWriting_IsOk()
    {
        await using var h = await StoreHarness.OpenAsync();

        // The head checkpoint is first written by the first commit: a verify that reads the head before it and the log
        // after it sees a log with no checkpoint, which is what a deleted audit.head looks like. Start from a written one.
        await h.S.AppendAuditAsync(Make.Audit("ten_a", "token.reveal", "tok"), None);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await h.S.AppendAuditAsync(Make.Audit("ten_a", "token.reveal", "tok"), None);
            }
        });

        for (var i = 0; i < 20; i++)
        {
            var result = AuditVerifier.Verify(h.Directory);
            Assert.True(result.Ok, result.Reason);
            await Task.Delay(5);
        }

        await stop.CancelAsync();
        await writer;
    }
}
