using Cloister.Protocol;
using Cloister.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cloister.Server.Tenants;

/// <summary>
/// Delivers the store's pending crypto-shreddings (a deleted tenant, a retired data-key version) to the enclave worker
/// until it confirms each: the worker zeroes the keys and refuses them from then on, and the key broker records them as
/// never to be unwrapped again. The store committed each with the deletion (an outbox), so a worker that cannot be
/// reached at that moment, or a router restart, delays the confirmation but never loses it.
/// </summary>
/// <remarks>
/// The route that deleted tries once at once (<see cref="ShredAsync"/>) and says whether it was confirmed; this service
/// tries every pending one at start and then every <see cref="RetryInterval"/>, and once more when woken. A worker
/// that restarts meanwhile starts with an empty keyring, and its confirmation then only adds the broker's record.
/// </remarks>
internal sealed class KeyShredder(ITenantStore store, EnclaveClient enclave, TimeProvider time, ILogger<KeyShredder> log) : BackgroundService
{
    /// <summary>How often unconfirmed shreddings are sent again.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    /// <summary>How long one attempt waits for the worker (which waits for the broker).</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);

    private readonly ReencryptionSignal _wake = new();

    /// <summary>
    /// One attempt: true when the worker and the key broker confirmed <paramref name="shred"/> (it is then no longer
    /// pending); false, with the retry loop woken, when they did not. Throws only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task<bool> ShredAsync(PendingShred shred, CancellationToken cancellationToken)
    {
        var confirmed = false;
        try
        {
            if (await TryShredAsync(shred, cancellationToken) is { } failure)
            {
                LogMessages.ShreddingUnconfirmed(log, shred.TenantId, failure);
                return false;
            }

            confirmed = true;
            return true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // The worker is unreachable, busy or restarting, or the attempt timed out: the loop tries again.
            LogMessages.ShreddingUnconfirmed(log, shred.TenantId, e is OperationCanceledException ? "timeout" : e.GetType().Name);
            return false;
        }
        finally
        {
            if (!confirmed)
            {
                // Whatever stopped this attempt (the caller's cancellation too), the loop must know a shredding is pending.
                _wake.Wake();
            }
        }
    }

    // Null when confirmed, otherwise why not.
    private async Task<string?> TryShredAsync(PendingShred shred, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(AttemptTimeout);
        EnclaveRequest request = shred.DataKeyVersion is { } version
            ? new RetireDataKeyRequest(version) { TenantId = shred.TenantId }
            : new ForgetTenantRequest { TenantId = shred.TenantId };
        var response = await enclave.SendAsync(request, attempt.Token);
        var detail = response switch
        {
            ForgetTenantResponse forgot => $"worker zeroed {forgot.Keys} keys, forgot {forgot.Sessions} sealing sessions, stopped {forgot.Invocations} invocations, removed {forgot.Functions} function versions; key broker recorded the deletion",
            RetireDataKeyResponse => $"worker zeroed data key version {shred.DataKeyVersion}; key broker recorded its retirement",
            _ => null,
        };
        if (detail is null)
        {
            // The worker's error detail names a broker code at most, never a key.
            return response is EnclaveErrorResponse error ? error.Error.Detail : "unexpected-response";
        }

        var action = shred.DataKeyVersion is null ? "tenant.keys.shredded" : "datakey.shredded";
        await store.CompleteShredAsync(shred, new AuditEntry(shred.TenantId, "system", action, [shred.TenantId], detail), cancellationToken);
        LogMessages.KeysShredded(log, shred.TenantId, shred.DataKeyVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all");
        return null;
    }

    /// <summary>Tries every pending shredding once; returns how many remain unconfirmed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var remaining = 0;
        foreach (var shred in await store.GetPendingShredsAsync(cancellationToken))
        {
            if (!await ShredAsync(shred, cancellationToken))
            {
                remaining++;
            }
        }

        return remaining;
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var remaining = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                remaining = await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogMessages.ShreddingFailed(log, e.GetType().Name);
            }

            try
            {
                // Nothing pending: sleep until a deletion's own attempt fails and wakes this loop.
                await (remaining == 0 ? _wake.WaitAsync(Timeout.InfiniteTimeSpan, stoppingToken) : Task.Delay(RetryInterval, time, stoppingToken));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
