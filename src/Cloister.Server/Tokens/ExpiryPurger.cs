using Cloister.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Tokens;

/// <summary>
/// Deletes expired tokens and invocation records periodically (an expired token or invocation already answers 404 on access).
/// </summary>
internal sealed class ExpiryPurger(ITokenStore store, IInvocationStore invocationStore, TimeProvider time, IOptions<ServerOptions> options, ILogger<ExpiryPurger> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PurgeInterval, time);
        do
        {
            try
            {
                var purged = await store.PurgeExpiredAsync(time.GetUtcNow(), stoppingToken);
                if (purged > 0)
                {
                    LogMessages.TokensPurged(log, purged);
                }

                var invocations = await invocationStore.PurgeExpiredInvocationsAsync(time.GetUtcNow(), stoppingToken);
                if (invocations > 0)
                {
                    LogMessages.InvocationsPurged(log, invocations);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogMessages.PurgeFailed(log, e.GetType().Name);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
