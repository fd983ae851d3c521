using Cloister.IntegrationTests.Support;
using Cloister.Storage;

namespace Cloister.IntegrationTests;

/// <summary>What a router restart does to invocations it was running.</summary>
public sealed class FunctionRestartTests
{
    [Fact]
    public async Task InvocationsRunningWhenTheRouterStopped_AreFailedAsInterrupted_AtTheNextStart()
    {
        using var directory = TempDirectory.Create("restart");
        string tenantId;
        string key;
        await using (var first = await TestServer.StartAsync(directory.Path))
        {
            tenantId = first.DefaultTenant.Id;
            key = first.DefaultTenant.Key;
        }

        // What a kill -9 mid-invocation leaves behind: a row still marked running.
        await using (var store = await SqliteVaultStore.OpenAsync(new StoreOptions(directory.Path), TimeProvider.System, CancellationToken.None))
        {
            var now = DateTimeOffset.UtcNow;
            var running = new InvocationRecord("inv_leftover", tenantId, "score", 1, new string('a', 96), InvocationStatus.Running, null, null, null, null, null, false, null, now, null, now.AddHours(1));
            await store.CreateInvocationAsync(running, new AuditEntry(tenantId, "test", "function.invoke", ["inv_leftover", "score"]), CancellationToken.None);
        }

        await using var second = await TestServer.StartAsync(directory.Path);
        var info = (await second.SendAsync(HttpMethod.Get, "/v1/invocations/inv_leftover", key)).Expect(200).Json;
        Assert.Equal("failed", info.GetProperty("status").GetString());
        Assert.Equal("interrupted", info.GetProperty("error").GetProperty("code").GetString());
        Assert.False(info.TryGetProperty("result", out _));
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, info.GetProperty("completedAt").ValueKind);
    }
}
