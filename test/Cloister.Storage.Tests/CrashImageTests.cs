namespace Cloister.Storage.Tests;

public sealed class CrashImageTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task AcknowledgedWrites_AreInTheFilesWhileTheStoreIsStillOpen()
    {
        // A copy of the data directory taken while the store is open, without closing it, is what a kill -9
        // leaves behind: vault.db plus an un-checkpointed -wal, and the checkpoint file.
        await using var h = await StoreHarness.OpenAsync();
        await Make.CreateTenantAsync(h.S, "ten_a");
        await h.S.InsertTokensAsync("ten_a", [Make.Token("ten_a", "tok_1"), Make.Token("ten_a", "tok_2")], Make.CreateAudit("ten_a"), None);
        var revealSeq = await h.S.AppendAuditAsync(Make.Audit("ten_a", "token.reveal", "tok_1"), None);

        var image = h.Directory + "-image";
        Directory.CreateDirectory(image);
        try
        {
            // store.lock is held (flock) by the open store and carries no data.
            foreach (var file in Directory.GetFiles(h.Directory).Where(f => Path.GetFileName(f) != "store.lock"))
            {
                File.Copy(file, Path.Combine(image, Path.GetFileName(file)));
            }

            Assert.True(File.Exists(Path.Combine(image, SqliteVaultStore.DatabaseFileName + "-wal")));
            Assert.Equal(new AuditVerifyResult(true, revealSeq, null, null), AuditVerifier.Verify(image));

            await using var recovered = await SqliteVaultStore.OpenAsync(new StoreOptions(image), h.Clock, None);
            Assert.NotNull(await recovered.GetTokenAsync("ten_a", "tok_2", None));
            Assert.Equal(revealSeq + 1, await recovered.AppendAuditAsync(Make.Audit("ten_a", "token.reveal", "tok_2"), None));
        }
        finally
        {
            Directory.Delete(image, recursive: true);
        }
    }

    [Fact]
    public async Task Verify_EmptyDirectory_SaysTheKeyIsMissing()
    {
        var directory = Path.Combine(Path.GetTempPath(), "cloister-empty-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            Assert.Equal(new AuditVerifyResult(false, 0, null, "audit.key missing"), AuditVerifier.Verify(directory));
        }
        finally
        {
            Directory.Delete(directory);
        }

        await Task.CompletedTask;
    }
}
