using Cloister.Protocol;
using Cloister.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Tenants;

/// <summary>Wakes a background worker: the re-encryption worker after a rotation, the key shredder after an unconfirmed shredding.</summary>
internal sealed class ReencryptionSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Wake()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled; one wake-up covers any number of rotations.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _signal.Dispose();
}

/// <summary>
/// Background job that moves ciphertexts under old data-key versions to the tenant's current version,
/// in batches, each batch one enclave round trip and one compare-and-set store update (a token that
/// changed meanwhile is skipped and picked up next pass). Runs at start, after each rotation, and hourly.
/// </summary>
internal sealed class ReencryptionWorker(ITenantStore store, ITokenStore tokenStore, EnclaveClient enclave, ReencryptionSignal signal, IOptions<ServerOptions> options, ILogger<ReencryptionWorker> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogMessages.ReencryptionFailed(log, e.GetType().Name);
            }

            try
            {
                await signal.WaitAsync(TimeSpan.FromHours(1), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Re-encrypts everything below each tenant's current version; returns how many tokens moved.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var moved = 0;
        foreach (var tenantId in await tokenStore.GetTenantsNeedingReencryptionAsync(cancellationToken))
        {
            var tenant = await store.GetTenantAsync(tenantId, cancellationToken);
            if (tenant is null)
            {
                continue;
            }

            var version = tenant.CurrentDataKeyVersion;
            while (true)
            {
                var batch = await tokenStore.GetTokensBelowKeyVersionAsync(tenantId, version, options.Value.ReencryptBatchSize, cancellationToken);
                if (batch.Count == 0)
                {
                    break;
                }

                var request = new ReencryptRequest(version, batch.Select(t => new RevealItem(t.Token, t.Format, t.Alphabet, t.KeyVersion, t.Ciphertext)).ToList()) { TenantId = tenantId };
                var response = await enclave.SendAsync<ReencryptResponse>(request, cancellationToken);
                var updates = new List<CiphertextUpdate>(batch.Count);
                for (var i = 0; i < batch.Count; i++)
                {
                    if (response.Ciphertexts[i] is { Length: > 0 } ciphertext)
                    {
                        updates.Add(new CiphertextUpdate(batch[i].Token, batch[i].KeyVersion, version, ciphertext));
                    }
                }

                if (updates.Count > 0)
                {
                    moved += await tokenStore.UpdateCiphertextsAsync(tenantId, updates, new AuditEntry(tenantId, "system", "datakey.reencrypt", [tenantId], $"{updates.Count} tokens to version {version}"), cancellationToken);
                }

                if (updates.Count < batch.Count)
                {
                    // Ciphertexts that fail authentication would come back first forever; leave them for the next pass.
                    LogMessages.ReencryptionStuck(log, tenantId, batch.Count - updates.Count);
                    break;
                }
            }

            LogMessages.ReencryptionDone(log, tenantId, version);
        }

        return moved;
    }
}
