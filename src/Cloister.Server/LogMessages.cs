using Cloister.Hosting.Listeners;
using Microsoft.Extensions.Logging;

namespace Cloister.Server;

/// <summary>
/// Every message the router logs, source-generated, with its stable event id: one table, so that a reviewer sees at a
/// glance that none takes a value, token or key (tenant ids, counts, codes and exception type names only; an
/// exception's message could quote a value, so it is never logged), and so that the generator refuses a reused id
/// (SYSLIB1006, an error under TreatWarningsAsErrors).
/// </summary>
internal static partial class LogMessages
{
    // 1-9: re-encryption (Tenants/ReencryptionWorker).
    [LoggerMessage(1, LogLevel.Warning, "Re-encryption pass failed ({ErrorType}); will retry.")]
    public static partial void ReencryptionFailed(ILogger logger, string errorType);

    [LoggerMessage(2, LogLevel.Warning, "Tenant {TenantId}: {Count} tokens could not be re-encrypted (ciphertext failed authentication).")]
    public static partial void ReencryptionStuck(ILogger logger, string tenantId, int count);

    [LoggerMessage(3, LogLevel.Information, "Tenant {TenantId}: all tokens are under data key version {Version}.")]
    public static partial void ReencryptionDone(ILogger logger, string tenantId, int version);

    // 10-19: expiry (Tokens/ExpiryPurger).
    [LoggerMessage(10, LogLevel.Information, "Purged {Count} expired tokens.")]
    public static partial void TokensPurged(ILogger logger, int count);

    [LoggerMessage(11, LogLevel.Warning, "Expiry purge failed ({ErrorType}); will retry.")]
    public static partial void PurgeFailed(ILogger logger, string errorType);

    [LoggerMessage(12, LogLevel.Information, "Purged {Count} expired invocation records.")]
    public static partial void InvocationsPurged(ILogger logger, int count);

    // 20-29: failed token lookups (Tokens/FailedLookupAudit).
    [LoggerMessage(20, LogLevel.Warning, "Could not write the audit entry for {Count} failed token lookups ({ErrorType}).")]
    public static partial void FailedLookupsNotAudited(ILogger logger, long count, string errorType);

    // 30-39: functions (Functions/FunctionService).
    [LoggerMessage(30, LogLevel.Warning, "The enclave did not retire a deleted function's sandboxes ({Code}); they stop when idle.")]
    public static partial void SandboxRetireFailed(ILogger logger, string code);

    // 40-49: invocations (Functions/InvocationService).
    [LoggerMessage(40, LogLevel.Error, "An invocation failed in the router ({ErrorType}); recorded as internal.")]
    public static partial void InvocationFailed(ILogger logger, string errorType);

    [LoggerMessage(41, LogLevel.Error, "A background invocation could not record its outcome ({ErrorType}); it is marked interrupted at the next start.")]
    public static partial void BackgroundInvocationFailed(ILogger logger, string errorType);

    // 70-79: crypto-shredding (Tenants/KeyShredder).
    [LoggerMessage(70, LogLevel.Information, "Tenant {TenantId}: keys shredded (data key version: {Version}); the enclave worker zeroed them and the key broker will never unwrap them again.")]
    public static partial void KeysShredded(ILogger logger, string tenantId, string version);

    [LoggerMessage(71, LogLevel.Warning, "Tenant {TenantId}: the enclave worker did not confirm the shredding of the tenant's keys ({Reason}); retrying. Its wrapped keys are deleted, so nothing loads them again meanwhile.")]
    public static partial void ShreddingUnconfirmed(ILogger logger, string tenantId, string reason);

    [LoggerMessage(72, LogLevel.Warning, "Shredding pass failed ({ErrorType}); will retry.")]
    public static partial void ShreddingFailed(ILogger logger, string errorType);

    // 100-109: hosting (Hosting/CloisterServer).
    [LoggerMessage(100, LogLevel.Warning, ListenPlan.InsecureHttpWarning)]
    public static partial void InsecureHttp(ILogger logger);
}
