using Cloister.Crypto;
using Cloister.IntegrationTests.Support;
using Cloister.KeyBroker;

namespace Cloister.IntegrationTests.Processes;

/// <summary>A tenant's keys as the worker holds them, unwrapped from a data directory's store with its master key (what a test looks for in memory).</summary>
public static class TenantKeyFiles
{
    /// <summary>
    /// Every wrapped key of the tenant in <paramref name="dataDirectory"/>'s store: purpose, version, the wrapped blob and
    /// the key it unwraps to under the master key in <paramref name="masterKeyDirectory"/> (default: the same directory).
    /// </summary>
    public static IReadOnlyList<(string Purpose, int Version, byte[] Wrapped, byte[] Key)> Unwrap(string dataDirectory, string tenantId, string? masterKeyDirectory = null)
    {
        var masterKey = File.ReadAllBytes(Path.Combine(masterKeyDirectory ?? dataDirectory, "master.key"));
        using var envelope = new EnvelopeKey(masterKey);
        var keys = new List<(string, int, byte[], byte[])>();
        foreach (var row in VaultDatabase.Query(dataDirectory, "SELECT purpose, version, blob FROM wrapped_keys WHERE tenant_id = $t ORDER BY purpose, version", ("$t", tenantId)))
        {
            var (purpose, version, blob) = ((string)row[0]!, checked((int)(long)row[1]!), (byte[])row[2]!);
            Assert.True(envelope.TryOpen(blob, KeyWrapContext.Create(tenantId, purpose, version), out var key));
            keys.Add((purpose, version, blob, key!));
        }

        return keys;
    }
}
