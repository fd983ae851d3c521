namespace Cloister.Storage.Tests;

public sealed class TokenTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<StoreHarness> WithTenantsAsync(params string[] tenants)
    {
        var h = await StoreHarness.OpenAsync();
        foreach (var tenant in tenants)
        {
            await Make.CreateTenantAsync(h.S, tenant);
        }

        return h;
    }

    [Fact]
    public async Task InsertTokens_New_InsertsAllAndRoundTripsEveryField()
    {
        await using var h = await WithTenantsAsync("ten_a");
        var token = Make.Token("ten_a", "tok_1", deterministicKey: [7, 7], expiresAt: StoreHarness.Start.AddDays(1));
        var fpe = Make.Token("ten_a", "4111111111111111", format: "fpe");

        var outcomes = await h.S.InsertTokensAsync("ten_a", [token, fpe], Make.CreateAudit("ten_a"), None);

        Assert.All(outcomes, o => Assert.Equal(InsertStatus.Inserted, o.Status));
        var loaded = await h.S.GetTokenAsync("ten_a", "tok_1", None);
        Assert.NotNull(loaded);
        Assert.Equal(token.Format, loaded.Format);
        Assert.Equal(token.Classifier, loaded.Classifier);
        Assert.Equal(token.KeyVersion, loaded.KeyVersion);
        Assert.Equal(token.Ciphertext, loaded.Ciphertext);
        Assert.Equal(token.Fingerprint, loaded.Fingerprint);
        Assert.Equal(token.DeterministicKey, loaded.DeterministicKey);
        Assert.Equal(token.Mask, loaded.Mask);
        Assert.Equal(token.MetadataJson, loaded.MetadataJson);
        Assert.Equal(token.CreatedAt, loaded.CreatedAt);
        Assert.Equal(token.ExpiresAt, loaded.ExpiresAt);
        var loadedFpe = await h.S.GetTokenAsync("ten_a", "4111111111111111", None);
        Assert.NotNull(loadedFpe);
        Assert.Null(loadedFpe.Ciphertext);
        Assert.Equal("0123456789", loadedFpe.Alphabet);
        Assert.Null(loadedFpe.ExpiresAt);
    }

    [Fact]
    public async Task InsertTokens_AuditEntryListsInsertedTokensInSameCommit()
    {
        await using var h = await WithTenantsAsync("ten_a");
        IReadOnlyList<TokenRecord>? seen = null;

        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1"), Make.Token("ten_a", "tok_2")], inserted =>
        {
            seen = [.. inserted];
            return new AuditEntry("ten_a", "key_test", "token.create", [.. inserted.Select(t => t.Token)]);
        }, None);

        Assert.Equal(["tok_1", "tok_2"], seen!.Select(t => t.Token));
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'token.create' AND targets = '[\"tok_1\",\"tok_2\"]'"));
    }

    [Fact]
    public async Task InsertTokens_TakenTokenString_ReportsTokenTakenAndAuditsOnlyTheRest()
    {
        await using var h = await WithTenantsAsync("ten_a");
        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1")], Make.CreateAudit("ten_a"), None);
        IReadOnlyList<TokenRecord>? seen = null;

        var outcomes = await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1", ciphertext: [1]), Make.Token("ten_a", "tok_2")], inserted =>
        {
            seen = [.. inserted];
            return Make.CreateAudit("ten_a")(inserted);
        }, None);

        Assert.Equal(InsertStatus.TokenTaken, outcomes[0].Status);
        Assert.Null(outcomes[0].Existing);
        Assert.Equal(InsertStatus.Inserted, outcomes[1].Status);
        Assert.Equal(["tok_2"], seen!.Select(t => t.Token));
        Assert.NotEqual([1], (await h.S.GetTokenAsync("ten_a", "tok_1", None))!.Ciphertext);
    }

    [Fact]
    public async Task InsertTokens_ExistingDeterministicKey_ReturnsExistingRecord()
    {
        await using var h = await WithTenantsAsync("ten_a");
        var first = Make.Token("ten_a", "tok_1", deterministicKey: [1, 2, 3]);
        await h.S.InsertTokensAsync("ten_a", [first], Make.CreateAudit("ten_a"), None);

        var outcomes = await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_2", deterministicKey: [1, 2, 3])], Make.CreateAudit("ten_a"), None);

        Assert.Equal(InsertStatus.DeterministicExists, outcomes[0].Status);
        Assert.Equal("tok_1", outcomes[0].Existing!.Token);
        Assert.Equal(first.Ciphertext, outcomes[0].Existing!.Ciphertext);
        Assert.Null(await h.S.GetTokenAsync("ten_a", "tok_2", None));
    }

    [Fact]
    public async Task InsertTokens_SameDeterministicKeyTwiceInOneBatch_SecondGetsTheFirst()
    {
        await using var h = await WithTenantsAsync("ten_a");

        var outcomes = await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1", deterministicKey: [5]), Make.Token("ten_a", "tok_2", deterministicKey: [5])], Make.CreateAudit("ten_a"), None);

        Assert.Equal(InsertStatus.Inserted, outcomes[0].Status);
        Assert.Equal(InsertStatus.DeterministicExists, outcomes[1].Status);
        Assert.Equal("tok_1", outcomes[1].Existing!.Token);
    }

    [Fact]
    public async Task InsertTokens_SameDeterministicKeyInAnotherTenant_IsIndependent()
    {
        await using var h = await WithTenantsAsync("ten_a", "ten_b");
        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1", deterministicKey: [5])], Make.CreateAudit("ten_a"), None);

        var outcomes = await h.S.InsertTokensAsync("ten_b", [Make.Token("ten_b", "tok_1", deterministicKey: [5])], Make.CreateAudit("ten_b"), None);

        Assert.Equal(InsertStatus.Inserted, outcomes[0].Status);
    }

    [Fact]
    public async Task InsertTokens_NothingInserted_AppendsNoAudit()
    {
        await using var h = await WithTenantsAsync("ten_a");
        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1")], Make.CreateAudit("ten_a"), None);
        var before = h.Scalar("SELECT count(*) FROM audit");

        var outcomes = await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1")], Make.CreateAudit("ten_a"), None);

        Assert.Equal(InsertStatus.TokenTaken, outcomes[0].Status);
        Assert.Equal(before, h.Scalar("SELECT count(*) FROM audit"));
    }

    [Fact]
    public async Task InsertTokens_AuditCallbackThrows_NothingIsStored()
    {
        await using var h = await WithTenantsAsync("ten_a");

        await Assert.ThrowsAsync<InvalidOperationException>(() => h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1")], _ => throw new InvalidOperationException("boom"), None));

        Assert.Null(await h.S.GetTokenAsync("ten_a", "tok_1", None));
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit"));
    }

    [Fact]
    public async Task InsertTokens_RecordOfAnotherTenant_IsRejected()
    {
        await using var h = await WithTenantsAsync("ten_a", "ten_b");

        await Assert.ThrowsAsync<ArgumentException>(() => h.S.InsertTokensAsync("ten_a", [Make.Token("ten_b", "tok_1")], Make.CreateAudit("ten_a"), None));
    }

    [Fact]
    public async Task Tokens_OfTenantA_AreInvisibleThroughTenantB()
    {
        await using var h = await WithTenantsAsync("ten_a", "ten_b");
        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1", deterministicKey: [9], fingerprint: [8], keyVersion: 1)], Make.CreateAudit("ten_a"), None);

        Assert.Null(await h.S.GetTokenAsync("ten_b", "tok_1", None));
        Assert.Null(await h.S.FindDeterministicAsync("ten_b", [9], None));
        Assert.Empty(await h.S.FindByFingerprintAsync("ten_b", [8], 10, None));
        Assert.Empty(await h.S.GetTokensBelowKeyVersionAsync("ten_b", 5, 10, None));
        Assert.False(await h.S.DeleteTokenAsync("ten_b", "tok_1", Make.Audit("ten_b", "token.delete", "tok_1"), None));
        Assert.Equal(0, await h.S.UpdateCiphertextsAsync("ten_b", [new CiphertextUpdate("tok_1", 1, 2, [1])], Make.Audit("ten_b", "datakey.reencrypt"), None));
        Assert.NotNull(await h.S.GetTokenAsync("ten_a", "tok_1", None));
    }

    [Fact]
    public async Task FindByFingerprint_ReturnsMatchesUpToLimit()
    {
        await using var h = await WithTenantsAsync("ten_a");
        await h.S.InsertTokensAsync("ten_a", [.. Enumerable.Range(0, 5).Select(i => Make.Token("ten_a", $"tok_{i}", fingerprint: [42])), Make.Token("ten_a", "tok_other", fingerprint: [43])], Make.CreateAudit("ten_a"), None);

        Assert.Equal(5, (await h.S.FindByFingerprintAsync("ten_a", [42], 10, None)).Count);
        Assert.Equal(2, (await h.S.FindByFingerprintAsync("ten_a", [42], 2, None)).Count);
        Assert.Equal("tok_other", Assert.Single(await h.S.FindByFingerprintAsync("ten_a", [43], 10, None)).Token);
        Assert.Empty(await h.S.FindByFingerprintAsync("ten_a", [44], 10, None));
    }

    [Fact]
    public async Task FindDeterministic_FindsByKey()
    {
        await using var h = await WithTenantsAsync("ten_a");
        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1", deterministicKey: [1, 1])], Make.CreateAudit("ten_a"), None);

        Assert.Equal("tok_1", (await h.S.FindDeterministicAsync("ten_a", [1, 1], None))!.Token);
        Assert.Null(await h.S.FindDeterministicAsync("ten_a", [1, 2], None));
    }

    [Fact]
    public async Task DeleteToken_RemovesItOnceAndAudits()
    {
        await using var h = await WithTenantsAsync("ten_a");
        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1")], Make.CreateAudit("ten_a"), None);

        Assert.True(await h.S.DeleteTokenAsync("ten_a", "tok_1", Make.Audit("ten_a", "token.delete", "tok_1"), None));
        Assert.False(await h.S.DeleteTokenAsync("ten_a", "tok_1", Make.Audit("ten_a", "token.delete", "tok_1"), None));

        Assert.Null(await h.S.GetTokenAsync("ten_a", "tok_1", None));
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'token.delete'"));
    }

    [Fact]
    public async Task GetToken_Expired_IsStillReturned()
    {
        await using var h = await WithTenantsAsync("ten_a");
        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1", expiresAt: StoreHarness.Start.AddSeconds(1))], Make.CreateAudit("ten_a"), None);
        h.Clock.SetUtcNow(StoreHarness.Start.AddHours(1));

        Assert.NotNull(await h.S.GetTokenAsync("ten_a", "tok_1", None));
    }

    [Fact]
    public async Task PurgeExpired_DeletesOnlyTokensExpiredAtOrBeforeNow()
    {
        await using var h = await WithTenantsAsync("ten_a", "ten_b");
        var now = StoreHarness.Start.AddHours(1);
        await h.S.InsertTokensAsync("ten_a", [
            Make.Token("ten_a", "past", expiresAt: now.AddSeconds(-1)),
            Make.Token("ten_a", "exactly_now", expiresAt: now),
            Make.Token("ten_a", "future", expiresAt: now.AddMilliseconds(1)),
            Make.Token("ten_a", "never"),
        ], Make.CreateAudit("ten_a"), None);
        await h.S.InsertTokensAsync("ten_b", [Make.Token("ten_b", "past_b", expiresAt: now.AddDays(-1))], Make.CreateAudit("ten_b"), None);

        Assert.Equal(3, await h.S.PurgeExpiredAsync(now, None));

        Assert.Null(await h.S.GetTokenAsync("ten_a", "past", None));
        Assert.Null(await h.S.GetTokenAsync("ten_a", "exactly_now", None));
        Assert.Null(await h.S.GetTokenAsync("ten_b", "past_b", None));
        Assert.NotNull(await h.S.GetTokenAsync("ten_a", "future", None));
        Assert.NotNull(await h.S.GetTokenAsync("ten_a", "never", None));
        Assert.Equal(0, await h.S.PurgeExpiredAsync(now, None));
    }

    [Fact]
    public async Task PurgeExpired_MoreThanOneBatch_DeletesAll()
    {
        await using var h = await WithTenantsAsync("ten_a");
        var tokens = Enumerable.Range(0, 2500).Select(i => Make.Token("ten_a", $"tok_{i}", expiresAt: StoreHarness.Start.AddMinutes(1))).ToList();
        await h.S.InsertTokensAsync("ten_a", tokens, Make.CreateAudit("ten_a"), None);

        Assert.Equal(2500, await h.S.PurgeExpiredAsync(StoreHarness.Start.AddMinutes(2), None));
        Assert.Equal(0, h.Scalar("SELECT count(*) FROM tokens"));
    }

    [Fact]
    public async Task PurgeToken_DeletesExpiredTokenButNeverALiveOne()
    {
        await using var h = await WithTenantsAsync("ten_a");
        await h.S.InsertTokensAsync("ten_a", [
            Make.Token("ten_a", "old", expiresAt: StoreHarness.Start.AddMinutes(1)),
            Make.Token("ten_a", "live", expiresAt: StoreHarness.Start.AddDays(1)),
            Make.Token("ten_a", "forever"),
        ], Make.CreateAudit("ten_a"), None);
        h.Clock.SetUtcNow(StoreHarness.Start.AddMinutes(2));
        var auditBefore = h.Scalar("SELECT count(*) FROM audit");

        await h.S.PurgeTokenAsync("ten_a", "old", None);
        await h.S.PurgeTokenAsync("ten_a", "live", None);
        await h.S.PurgeTokenAsync("ten_a", "forever", None);

        Assert.Null(await h.S.GetTokenAsync("ten_a", "old", None));
        Assert.NotNull(await h.S.GetTokenAsync("ten_a", "live", None));
        Assert.NotNull(await h.S.GetTokenAsync("ten_a", "forever", None));
        Assert.Equal(auditBefore, h.Scalar("SELECT count(*) FROM audit"));
    }

    [Fact]
    public async Task Rotation_FindsOldCiphertextsAndTenantsButNotFpeTokens()
    {
        await using var h = await WithTenantsAsync("ten_a", "ten_b");
        await h.S.InsertTokensAsync("ten_a", [
            Make.Token("ten_a", "v1a", keyVersion: 1),
            Make.Token("ten_a", "v1b", keyVersion: 1),
            Make.Token("ten_a", "411111", keyVersion: 1, format: "fpe"),
        ], Make.CreateAudit("ten_a"), None);
        await h.S.InsertTokensAsync("ten_b", [Make.Token("ten_b", "b1", keyVersion: 1), Make.Token("ten_b", "411111", keyVersion: 1, format: "fpe")], Make.CreateAudit("ten_b"), None);
        Assert.Empty(await h.S.GetTenantsNeedingReencryptionAsync(None));

        Assert.True(await h.S.AddDataKeyVersionAsync(Make.Key("ten_a", version: 2), Make.Audit("ten_a", "datakey.rotate"), None));
        Assert.Equal(["ten_a"], await h.S.GetTenantsNeedingReencryptionAsync(None));
        Assert.Equal(["v1a", "v1b"], (await h.S.GetTokensBelowKeyVersionAsync("ten_a", 2, 10, None)).Select(t => t.Token).Order());
        Assert.Single(await h.S.GetTokensBelowKeyVersionAsync("ten_a", 2, 1, None));

        var changed = await h.S.UpdateCiphertextsAsync("ten_a", [new CiphertextUpdate("v1a", 1, 2, [2, 2]), new CiphertextUpdate("v1b", 1, 2, [3, 3])], Make.Audit("ten_a", "datakey.reencrypt"), None);

        Assert.Equal(2, changed);
        Assert.Empty(await h.S.GetTenantsNeedingReencryptionAsync(None));
        var moved = await h.S.GetTokenAsync("ten_a", "v1a", None);
        Assert.Equal(2, moved!.KeyVersion);
        Assert.Equal([2, 2], moved.Ciphertext);
    }

    [Fact]
    public async Task UpdateCiphertexts_RowNoLongerAtFromVersion_IsSkipped()
    {
        await using var h = await WithTenantsAsync("ten_a");
        Assert.True(await h.S.AddDataKeyVersionAsync(Make.Key("ten_a", version: 2), Make.Audit("ten_a", "datakey.rotate", "ten_a"), None));
        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1", keyVersion: 1), Make.Token("ten_a", "tok_2", keyVersion: 2)], Make.CreateAudit("ten_a"), None);

        var changed = await h.S.UpdateCiphertextsAsync("ten_a", [
            new CiphertextUpdate("tok_1", 1, 3, [1]),
            new CiphertextUpdate("tok_2", 1, 3, [2]),
            new CiphertextUpdate("tok_missing", 1, 3, [3]),
        ], Make.Audit("ten_a", "datakey.reencrypt"), None);

        Assert.Equal(1, changed);
        Assert.Equal(2, (await h.S.GetTokenAsync("ten_a", "tok_2", None))!.KeyVersion);
        Assert.Equal(0, await h.S.UpdateCiphertextsAsync("ten_a", [new CiphertextUpdate("tok_1", 1, 3, [1])], Make.Audit("ten_a", "datakey.reencrypt"), None));
        Assert.Equal(1, h.Scalar("SELECT count(*) FROM audit WHERE action = 'datakey.reencrypt'"));
    }

    [Fact]
    public async Task Write_CancelledBeforeItRuns_IsNotApplied()
    {
        await using var h = await WithTenantsAsync("ten_a");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1")], Make.CreateAudit("ten_a"), cancelled.Token));

        Assert.Null(await h.S.GetTokenAsync("ten_a", "tok_1", None));
    }
}
