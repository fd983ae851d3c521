using System.Security.Cryptography;
using Cloister.Crypto;
using Cloister.Protocol;

namespace Cloister.Enclave.Tests;

/// <summary>
/// Crypto-shredding in the worker and the key broker: a deleted tenant's keys (or a retired data-key version) are
/// zeroed in the worker, never held again, and never unwrapped again by the broker for any worker.
/// </summary>
public sealed class ShreddingTests : IDisposable
{
    private readonly TestVault _vault = new();
    private readonly List<EnclaveHost> _hosts = [];

    public void Dispose()
    {
        foreach (var host in _hosts)
        {
            host.Dispose();
        }

        _vault.Dispose();
    }

    [Fact]
    public async Task ForgetTenant_ZeroesItsKeys_KeepsOthers_AndNeitherThisWorkerNorAFreshOneLoadsThemAgain()
    {
        var (host, client) = NewWorker();
        var doomed = await _vault.CreateTenantAsync();
        var kept = await _vault.CreateTenantAsync();
        var token = await TokenizeAsync(client, doomed, "doomed-value");
        var fpe = await TokenizeAsync(client, doomed, "4111111111111111", "fpe");
        var keptToken = await TokenizeAsync(client, kept, "kept-value");
        Assert.Equal(3, host.HeldKeyIds.Count(id => id.TenantId == doomed));

        var forgot = Assert.IsType<ForgetTenantResponse>(await client.SendAsync(new ForgetTenantRequest { TenantId = doomed }, CancellationToken.None));

        Assert.Equal(3, forgot.Keys);
        Assert.DoesNotContain(host.HeldKeyIds, id => id.TenantId == doomed);
        Assert.Equal(3, host.HeldKeyIds.Count(id => id.TenantId == kept));
        Assert.Equal("kept-value", await RevealAsync(client, kept, keptToken));

        // The router's wrapped keys from before the deletion (what a router that kept them, or a backup, would attach):
        // this worker refuses to hold them again, and the broker refuses to unwrap them, for a fresh worker too.
        var (fresh, freshClient) = NewWorker();
        foreach (var (worker, c) in new[] { (host, client), (fresh, freshClient) })
        {
            var refused = await c.SendAsync(new RevealRequest([token, fpe]) { TenantId = doomed }, CancellationToken.None);
            var error = Assert.IsType<EnclaveErrorResponse>(refused).Error;
            Assert.Equal(EnclaveErrorCodes.KeyUnavailable, error.Code);
            Assert.Contains(BrokerErrorCodes.KeysShredded, error.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain(worker.HeldKeyIds, id => id.TenantId == doomed);
        }

        Assert.Contains($"\"tenant\":\"{doomed}\"", await File.ReadAllTextAsync(Path.Combine(_vault.DataDirectory, "keybroker-shredded.jsonl")), StringComparison.Ordinal);
        Assert.Contains("\"event\":\"shred\"", await File.ReadAllTextAsync(Path.Combine(_vault.DataDirectory, "keybroker-audit.jsonl")), StringComparison.Ordinal);
        Assert.IsType<ForgetTenantResponse>(await client.SendAsync(new ForgetTenantRequest { TenantId = doomed }, CancellationToken.None));
    }

    [Fact]
    public async Task ABrokerRestart_KeepsRefusingADeletedTenant()
    {
        var (_, client) = NewWorker();
        var doomed = await _vault.CreateTenantAsync();
        var token = await TokenizeAsync(client, doomed, "doomed-value");
        Assert.IsType<ForgetTenantResponse>(await client.SendAsync(new ForgetTenantRequest { TenantId = doomed }, CancellationToken.None));

        // A new broker process on the same data directory reads the record back.
        var broker = new InProcessTransport(TestVault.NewBroker(_vault.MasterKey, _vault.DataDirectory));
        var worker = TestVault.NewEnclave(broker, _vault.DataDirectory);
        _hosts.Add(worker);
        var refused = await new EnclaveClient(new InProcessTransport(worker), _vault.WrappedKeys).SendAsync(new RevealRequest([token]) { TenantId = doomed }, CancellationToken.None);

        Assert.Contains(BrokerErrorCodes.KeysShredded, Assert.IsType<EnclaveErrorResponse>(refused).Error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RetireDataKey_ZeroesThatVersionOnly_AndTheBrokerNeverUnwrapsItAgain()
    {
        var (host, client) = NewWorker();
        var tenant = await _vault.CreateTenantAsync();
        var old = await TokenizeAsync(client, tenant, "under-v1");
        await _vault.RotateAsync(tenant, 2);
        var current = await TokenizeAsync(client, tenant, "under-v2", keyVersion: 2);
        Assert.Contains(KeyId.Data(tenant, 1), host.HeldKeyIds);

        Assert.IsType<RetireDataKeyResponse>(await client.SendAsync(new RetireDataKeyRequest(1) { TenantId = tenant }, CancellationToken.None));

        Assert.DoesNotContain(KeyId.Data(tenant, 1), host.HeldKeyIds);
        Assert.Equal("under-v2", await RevealAsync(client, tenant, current));

        // What the router attaches once the version is retired (it deleted that wrapped key): the rest serve, the token
        // still under the retired version fails alone. With the retired version among them (a copy kept from before),
        // this worker refuses to hold it again and the broker refuses the whole set, for a fresh worker too.
        var all = await _vault.WrappedKeys.GetWrappedKeysAsync(tenant, CancellationToken.None);
        List<WrappedKey> remaining = [.. all.Where(k => !(k.Purpose == KeyPurpose.Data && k.Version == 1))];
        var revealed = Assert.IsType<RevealResponse>(await client.SendAsync(new RevealRequest([old, current]) { TenantId = tenant, Keys = remaining }, CancellationToken.None));
        Assert.Equal(EnclaveErrorCodes.KeyUnavailable, revealed.Results[0].Error!.Code);
        Assert.Equal("under-v2", revealed.Results[1].Value);
        var again = await client.SendAsync(new RevealRequest([old]) { TenantId = tenant, Keys = all }, CancellationToken.None);
        Assert.Contains(BrokerErrorCodes.KeysShredded, Assert.IsType<EnclaveErrorResponse>(again).Error.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(KeyId.Data(tenant, 1), host.HeldKeyIds);

        var (_, freshClient) = NewWorker();
        var withRetired = await freshClient.SendAsync(new RevealRequest([current]) { TenantId = tenant, Keys = all }, CancellationToken.None);
        Assert.Contains(BrokerErrorCodes.KeysShredded, Assert.IsType<EnclaveErrorResponse>(withRetired).Error.Detail, StringComparison.Ordinal);
        var withoutRetired = await freshClient.SendAsync<RevealResponse>(new RevealRequest([current]) { TenantId = tenant, Keys = remaining }, CancellationToken.None);
        Assert.Equal("under-v2", Assert.Single(withoutRetired.Results).Value);
    }

    [Fact]
    public async Task AKeyInUse_IsZeroedOnlyWhenItsLastLeaseEnds_AndIsNeverHeldAgain()
    {
        using var keyring = new Keyring();
        var bytes = RandomNumberGenerator.GetBytes(Keyring.KeySize);
        keyring.Add("t", [new UnwrappedKey(KeyPurpose.Data, 1, bytes.ToArray())]);
        var lease = keyring.DataKey("t", 1);
        var key = Assert.IsType<EnvelopeKey>(lease.Key);

        var forgetting = keyring.ForgetTenantAsync("t");

        Assert.False(forgetting.IsCompleted);
        Assert.Null(keyring.DataKey("t", 1).Key);
        var sealedValue = key.Seal("still usable"u8, "aad"u8);
        lease.Dispose();
        Assert.Equal(1, await forgetting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Throws<ObjectDisposedException>(() => key.Seal("x"u8, "aad"u8));
        using var same = new EnvelopeKey(bytes);
        Assert.True(same.TryOpen(sealedValue, "aad"u8, out _));

        keyring.Add("t", [new UnwrappedKey(KeyPurpose.Data, 1, bytes.ToArray()), new UnwrappedKey(KeyPurpose.Fingerprint, 1, bytes.ToArray())]);
        Assert.Empty(keyring.HeldKeyIds());
    }

    private (EnclaveHost Host, EnclaveClient Client) NewWorker()
    {
        var host = TestVault.NewEnclave(_vault.BrokerTransport, _vault.DataDirectory);
        _hosts.Add(host);
        return (host, new EnclaveClient(new InProcessTransport(host), _vault.WrappedKeys));
    }

    private static async Task<RevealItem> TokenizeAsync(EnclaveClient client, string tenant, string value, string format = "random", int keyVersion = 1)
    {
        var response = await client.SendAsync<TokenizeResponse>(new TokenizeRequest(keyVersion, [new TokenizeItem(value, format, null, "default", false)]) { TenantId = tenant }, CancellationToken.None);
        return TestVault.Stored(Assert.Single(response.Results), format, keyVersion: keyVersion);
    }

    private static async Task<string?> RevealAsync(EnclaveClient client, string tenant, RevealItem item)
        => Assert.Single((await client.SendAsync<RevealResponse>(new RevealRequest([item]) { TenantId = tenant }, CancellationToken.None)).Results).Value;
}
