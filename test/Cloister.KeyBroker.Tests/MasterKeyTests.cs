using System.Text;
using Cloister.Protocol;

namespace Cloister.KeyBroker.Tests;

public sealed class MasterKeyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-broker-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void MasterKey_IsCreatedOnFirstUse_As32BytesWithMode0600()
    {
        using var provider = NewProvider();

        var path = Path.Combine(_directory, "master.key");
        Assert.Equal(path, provider.KeyPath);
        Assert.Equal(32, new FileInfo(path).Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public async Task MasterKey_IsReloadedFromTheFile_SoOldWrappedKeysStillUnwrap()
    {
        IReadOnlyList<WrappedKey> wrapped;
        using (var first = new BrokerHarness(_directory))
        {
            wrapped = await first.GenerateAsync("acme");
        }

        using var second = new BrokerHarness(_directory);
        var session = await second.SessionAsync();
        var unwrapped = second.Open(await second.UnwrapAsync(session, "acme", wrapped), "acme", session);

        Assert.Equal(32, Assert.Single(unwrapped).Key.Length);
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, "0644")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, "0640")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.OtherWrite, "0402")]
    public void MasterKey_WithGroupOrOtherPermissions_IsRefused(UnixFileMode mode, string shown)
    {
        NewProvider().Dispose();
        var path = Path.Combine(_directory, "master.key");
        File.SetUnixFileMode(path, mode);

        var error = Assert.Throws<KeyBrokerException>(NewProvider);

        Assert.Contains(shown, error.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void MasterKey_OfTheWrongSize_IsRefused(int size)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
        using (var stream = new FileStream(Path.Combine(_directory, "master.key"), options))
        {
            stream.Write(new byte[size]);
        }

        var error = Assert.Throws<KeyBrokerException>(NewProvider);

        Assert.Contains($"{size} bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MasterKey_ThatIsADirectory_IsRefusedWithAClearMessage()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "master.key"));

        var error = Assert.Throws<KeyBrokerException>(NewProvider);

        Assert.Contains("master.key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DataDirectory_IsCreatedOwnerOnly_WhenMissing()
    {
        var nested = Path.Combine(_directory, "data");

        using var provider = new FileMasterKeyProvider(new FileMasterKeyProviderOptions { DataDirectory = nested });

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(nested));
    }

    [Theory]
    [InlineData("other-tenant", KeyPurpose.Data, 1)]
    [InlineData("acme", KeyPurpose.Fpe, 1)]
    [InlineData("acme", KeyPurpose.Fingerprint, 1)]
    [InlineData("acme", KeyPurpose.Data, 2)]
    public async Task WrappedKey_DoesNotUnwrapUnderAnotherTenantPurposeOrVersion(string tenantId, string purpose, int version)
    {
        using var broker = new BrokerHarness();
        var wrapped = Assert.Single(await broker.GenerateAsync("acme"));

        var response = await broker.UnwrapAsync(await broker.SessionAsync(), tenantId, [new WrappedKey(purpose, version, wrapped.Blob)]);

        Assert.Equal(BrokerErrorCodes.UnwrapFailed, Assert.IsType<BrokerErrorResponse>(response).Error.Code);
    }

    [Fact]
    public async Task WrappedKey_UnwrapsUnderItsOwnTenantPurposeAndVersion()
    {
        using var broker = new BrokerHarness();
        var generated = await broker.GenerateAsync("acme", new KeySpec(KeyPurpose.Data, 3));
        var session = await broker.SessionAsync();

        var key = Assert.Single(broker.Open(await broker.UnwrapAsync(session, "acme", generated), "acme", session));

        Assert.Equal((KeyPurpose.Data, 3, 32), (key.Purpose, key.Version, key.Key.Length));
    }

    [Fact]
    public async Task GeneratedKeys_AreDistinct()
    {
        using var broker = new BrokerHarness();
        var generated = await broker.GenerateAsync("acme", new(KeyPurpose.Data, 1), new(KeyPurpose.Fpe, 1), new(KeyPurpose.Fingerprint, 1));
        var session = await broker.SessionAsync();

        var unwrapped = broker.Open(await broker.UnwrapAsync(session, "acme", generated), "acme", session);

        Assert.Equal(3, unwrapped.Select(key => Convert.ToHexString(key.Key)).Distinct().Count());
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("{\"tenantId\":\"acme\"}")]
    [InlineData("{\"$op\":\"launchMissiles\",\"tenantId\":\"acme\"}")]
    [InlineData("{\"$op\":\"generateKeys\",\"tenantId\":\"acme\"}")]
    [InlineData("{\"$op\":\"generateKeys\",\"tenantId\":\"acme\",\"keys\":[]}")]
    [InlineData("{\"$op\":\"generateKeys\",\"tenantId\":\"acme\",\"keys\":[null]}")]
    [InlineData("{\"$op\":\"generateKeys\",\"tenantId\":\"acme\",\"keys\":[{\"purpose\":\"master\",\"version\":1}]}")]
    [InlineData("{\"$op\":\"generateKeys\",\"tenantId\":\"acme\",\"keys\":[{\"purpose\":\"data\",\"version\":0}]}")]
    [InlineData("{\"$op\":\"generateKeys\",\"tenantId\":\"\",\"keys\":[{\"purpose\":\"data\",\"version\":1}]}")]
    [InlineData("{\"$op\":\"unwrapKeys\",\"tenantId\":\"acme\",\"session\":\"s\",\"keys\":[{\"purpose\":\"data\",\"version\":1}]}")]
    [InlineData("{\"$op\":\"attest\",\"tee\":\"simulated\"}")]
    [InlineData("{\"$op\":\"attest\",\"nonce\":\"AAAA\",\"tee\":\"simulated\",\"evidence\":\"AAAA\",\"claims\":\"AAAA\",\"certificates\":[null]}")]
    public async Task MalformedFrames_AreBadRequest(string frame)
    {
        using var broker = new BrokerHarness();

        var response = Frames.Broker.DecodeResponse(await broker.Broker.HandleAsync(Encoding.UTF8.GetBytes(frame), CancellationToken.None));

        Assert.Equal(BrokerErrorCodes.BadRequest, Assert.IsType<BrokerErrorResponse>(response).Error.Code);
    }

    [Fact]
    public async Task UnwrapFailure_ReleasesNoneOfTheOtherKeys()
    {
        using var broker = new BrokerHarness();
        var good = Assert.Single(await broker.GenerateAsync("acme"));
        var bad = good with { Version = 2 };

        var response = await broker.UnwrapAsync(await broker.SessionAsync(), "acme", [good, bad]);

        Assert.Equal(BrokerErrorCodes.UnwrapFailed, Assert.IsType<BrokerErrorResponse>(response).Error.Code);
        Assert.Equal("refusal", broker.LastAudit().GetProperty("event").GetString());
    }

    private FileMasterKeyProvider NewProvider() => new(new FileMasterKeyProviderOptions { DataDirectory = _directory });
}
