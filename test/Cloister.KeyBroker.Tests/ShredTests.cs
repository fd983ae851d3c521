using Cloister.Protocol;

namespace Cloister.KeyBroker.Tests;

/// <summary>
/// Crypto-shredding at the key broker: once a tenant (or a data-key version) is recorded as shredded, no unwrap of it
/// succeeds again, whoever presents the wrapped keys, also after a restart; the record fails closed.
/// </summary>
public sealed class ShredTests : IDisposable
{
    private readonly BrokerHarness _broker = new();

    public void Dispose() => _broker.Dispose();

    [Fact]
    public async Task ShreddedTenant_IsNeverUnwrappedAgain_EvenAfterARestart_AndOtherTenantsAre()
    {
        var session = await _broker.SessionAsync();
        var doomed = await _broker.GenerateAsync("doomed", new KeySpec(KeyPurpose.Data, 1), new KeySpec(KeyPurpose.Fpe, 1));
        var kept = await _broker.GenerateAsync("kept");
        _broker.Open(await _broker.UnwrapAsync(session, "doomed", doomed), "doomed", session);

        Assert.IsType<ShredKeysResponse>(await _broker.SendAsync(new ShredKeysRequest(null, session) { TenantId = "doomed" }));

        Assert.Equal(BrokerErrorCodes.KeysShredded, Assert.IsType<BrokerErrorResponse>(await _broker.UnwrapAsync(session, "doomed", doomed)).Error.Code);
        Assert.Equal(BrokerErrorCodes.KeysShredded, Assert.IsType<BrokerErrorResponse>(await _broker.UnwrapAsync(session, "doomed", [doomed[1]])).Error.Code);
        _broker.Open(await _broker.UnwrapAsync(session, "kept", kept), "kept", session);
        var audit = _broker.AuditLines();
        Assert.Contains(audit, line => line.GetProperty("event").GetString() == "shred" && line.GetProperty("tenant").GetString() == "doomed");
        Assert.Equal("keys-shredded", audit[^2].GetProperty("reason").GetString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_broker.Broker.ShreddedPath));

        // A new broker process on the same data directory.
        using var restarted = new BrokerHarness(_broker.Directory);
        var again = await restarted.SessionAsync();
        Assert.Equal(BrokerErrorCodes.KeysShredded, Assert.IsType<BrokerErrorResponse>(await restarted.UnwrapAsync(again, "doomed", doomed)).Error.Code);
        restarted.Open(await restarted.UnwrapAsync(again, "kept", kept), "kept", again);
    }

    [Fact]
    public async Task ShreddedDataKeyVersion_RefusesAnyUnwrapNamingIt_AndOnlyThose()
    {
        var session = await _broker.SessionAsync();
        var keys = await _broker.GenerateAsync("t", new KeySpec(KeyPurpose.Data, 1), new KeySpec(KeyPurpose.Data, 2), new KeySpec(KeyPurpose.Fingerprint, 1));

        Assert.IsType<ShredKeysResponse>(await _broker.SendAsync(new ShredKeysRequest(1, session) { TenantId = "t" }));
        Assert.IsType<ShredKeysResponse>(await _broker.SendAsync(new ShredKeysRequest(1, session) { TenantId = "t" }));

        Assert.Equal(BrokerErrorCodes.KeysShredded, Assert.IsType<BrokerErrorResponse>(await _broker.UnwrapAsync(session, "t", keys)).Error.Code);
        Assert.Equal(2, _broker.Open(await _broker.UnwrapAsync(session, "t", [.. keys.Skip(1)]), "t", session).Count);
        Assert.Single(File.ReadAllLines(_broker.Broker.ShreddedPath));
    }

    [Fact]
    public async Task Shred_NeedsAnAttestedSessionThatMayHoldTheTenant()
    {
        using var narrow = new BrokerHarness(policy: h => h.Policy(tenants: ["allowed"]));
        var session = await narrow.SessionAsync();

        var unattested = await narrow.SendAsync(new ShredKeysRequest(null, "no-such-session") { TenantId = "allowed" });
        var foreign = await narrow.SendAsync(new ShredKeysRequest(null, session) { TenantId = "someone-else" });
        var badVersion = await narrow.SendAsync(new ShredKeysRequest(0, session) { TenantId = "allowed" });

        Assert.Equal(BrokerErrorCodes.AttestationRequired, Assert.IsType<BrokerErrorResponse>(unattested).Error.Code);
        Assert.Equal(BrokerErrorCodes.TenantNotAllowed, Assert.IsType<BrokerErrorResponse>(foreign).Error.Code);
        Assert.Equal(BrokerErrorCodes.BadRequest, Assert.IsType<BrokerErrorResponse>(badVersion).Error.Code);
        Assert.False(File.Exists(narrow.Broker.ShreddedPath));
    }

    [Fact]
    public async Task AnUnreadableRecord_StopsTheBroker_ButALastLineACrashCutShortIsDropped()
    {
        var session = await _broker.SessionAsync();
        Assert.IsType<ShredKeysResponse>(await _broker.SendAsync(new ShredKeysRequest(null, session) { TenantId = "doomed" }));
        var path = _broker.Broker.ShreddedPath;

        // A record cut short by a crash was never acknowledged: dropped, and the next one starts on its own line.
        await File.AppendAllTextAsync(path, "{\"time\":\"2026-01-01T00:00:00+00:00\",\"ten");
        using (var restarted = new BrokerHarness(_broker.Directory))
        {
            var again = await restarted.SessionAsync();
            Assert.IsType<ShredKeysResponse>(await restarted.SendAsync(new ShredKeysRequest(null, again) { TenantId = "second" }));
            Assert.Equal(BrokerErrorCodes.KeysShredded, Assert.IsType<BrokerErrorResponse>(await restarted.UnwrapAsync(again, "doomed", await restarted.GenerateAsync("doomed"))).Error.Code);
        }

        Assert.Equal(2, File.ReadAllLines(path).Length);

        // A complete line that is not a record: the broker refuses to start rather than forget a deletion.
        await File.AppendAllTextAsync(path, "not json\n");
        var error = Assert.Throws<KeyBrokerException>(() => new BrokerHarness(_broker.Directory));
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
    }
}
