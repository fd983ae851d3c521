using System.Globalization;
using Cloister.Cli;
using Cloister.IntegrationTests.Support;
using Cloister.Server;
using Cloister.Server.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.IntegrationTests;

/// <summary>Starting, stopping and restarting the router on the same data directory.</summary>
public sealed class HostLifecycleTests
{
    [Fact]
    public async Task Restart_OnTheSameDataDirectory_KeepsCredentialsTenantsAndTokens()
    {
        using var data = TempDirectory.Create("restart");
        string token;
        string adminKey;
        TenantHandle tenant;
        await using (var first = await TestServer.StartAsync(data.Path))
        {
            Assert.NotNull(first.Host.CredentialsPath);
            adminKey = first.AdminKey;
            tenant = await first.CreateTenantAsync();
            token = await first.CreateTokenAsync(tenant.Key, new { value = "survives a restart" });
        }

        await using var second = await TestServer.StartAsync(data.Path);
        Assert.Null(second.Host.CredentialsPath);
        Assert.Equal(adminKey, second.AdminKey);
        Assert.Equal("survives a restart", await second.RevealValueAsync(tenant.Key, token));
        Assert.Equal(2, await second.RotateAsync(tenant.Id));
    }

    [Fact]
    public async Task DisposingTheRouterHost_ReleasesTheDataDirectory_SoItCanBeOpenedAgain()
    {
        using var data = TempDirectory.Create("dispose");
        var options = new ServerOptions { DataDirectory = data.Path, Urls = ["http://127.0.0.1:0"] };

        await using (var partition = InProcessPartition.Open(data.Path))
        {
            var host = await CloisterServer.BuildAsync(options, partition.Transport, null, CancellationToken.None);
            await host.StartAsync(CancellationToken.None);
            await host.App.StopAsync(CancellationToken.None);
            await host.DisposeAsync();
        }

        await using (var partition = InProcessPartition.Open(data.Path))
        {
            // Fails if the first host left the store (and its lock on the data directory) open.
            await using var host = await CloisterServer.BuildAsync(options, partition.Transport, null, CancellationToken.None);
            await host.StartAsync(CancellationToken.None);
            await host.App.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task AClockPassedToTheRouter_StampsItsRecords_WhileKestrelKeepsTheRealTime()
    {
        // A day ahead, on a whole second (the store keeps milliseconds).
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds()));
        await using var server = await TestServer.StartAsync(time: clock);

        var created = await server.CreateOkAsync(server.DefaultTenant.Key, new { value = "stamped", ttlSeconds = 60 });

        Assert.Equal(clock.GetUtcNow(), created.Json.GetProperty("createdAt").GetDateTimeOffset());
        Assert.Equal(clock.GetUtcNow().AddSeconds(60), created.Json.GetProperty("expiresAt").GetDateTimeOffset());

        // Kestrel's own clock (Date header, connection timeouts) is not the router's: it never waits for a fake one.
        var date = created.Headers.Split('\n').Select(line => line.Trim()).Single(line => line.StartsWith("Date:", StringComparison.Ordinal));
        Assert.InRange(DateTimeOffset.Parse(date["Date:".Length..], CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1));
    }

    [Fact]
    public async Task SecondServer_OnADataDirectoryInUse_IsRefused()
    {
        await using var first = await TestServer.StartAsync();
        await using var partition = InProcessPartition.Open(first.DataDirectory);

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var host = await CloisterServer.BuildAsync(
                new ServerOptions { DataDirectory = first.DataDirectory, Urls = ["http://127.0.0.1:0"] }, partition.Transport, null, CancellationToken.None);
        });

        (await first.SendAsync(HttpMethod.Get, "/readyz", null)).Expect(200);
    }
}
