using Cloister.Protocol;
using Cloister.Server.Hosting;
using Cloister.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Server.Tests.Hosting;

public sealed class CloisterServiceCollectionExtensionsTests
{
    [Fact]
    public void BadOptions_StopTheStart_WithTheMessageServePrints()
    {
        var options = new ServerOptions { MaxBatchItems = 0 };
        using var provider = Router(options).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal("MaxBatchItems must be between 1 and 1000.", error.Message);
        Assert.Equal(options.Validate(), error.Message);
        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ServerOptions>>().Value);
    }

    [Fact]
    public void GoodOptions_AreTheInstanceTheCallerBuilt()
    {
        var options = new ServerOptions { MaxBatchItems = 10 };
        using var provider = Router(options).BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.Same(options, provider.GetRequiredService<IOptions<ServerOptions>>().Value);
    }

    [Fact]
    public async Task AClockRegisteredFirst_IsKept_AndTheContainerOwnsTheStore()
    {
        using var data = TempDirectory.Create("router-store");
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var services = new ServiceCollection().AddSingleton<TimeProvider>(clock);

        await using (var provider = Router(new ServerOptions { DataDirectory = data.Path }, services).BuildServiceProvider())
        {
            Assert.Same(clock, provider.GetRequiredService<TimeProvider>());
            await provider.GetRequiredService<RouterStore>().OpenAsync(CancellationToken.None);
            var store = provider.GetRequiredService<IVaultStore>();
            Assert.Same(store, provider.GetRequiredService<ITokenStore>());
            Assert.Same(store, provider.GetRequiredService<IAuditStore>());
            await Assert.ThrowsAsync<VaultStoreException>(() => SqliteVaultStore.OpenAsync(new StoreOptions(data.Path), TimeProvider.System, CancellationToken.None));
        }

        // Disposing the container closed the store and released the data directory's lock.
        await using var reopened = await SqliteVaultStore.OpenAsync(new StoreOptions(data.Path), TimeProvider.System, CancellationToken.None);
    }

    private static IServiceCollection Router(ServerOptions options, IServiceCollection? services = null)
        => (services ?? new ServiceCollection()).AddLogging().AddCloisterRouter(options, new UnusedTransport());

    private sealed class UnusedTransport : IFrameTransport
    {
        public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
            => throw new InvalidOperationException("These tests never reach the enclave.");
    }
}
