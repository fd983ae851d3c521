using System.Text.Json;
using System.Text.Json.Serialization;
using Cloister.Server.Auth;
using Cloister.Server.Tenants;
using Cloister.Storage;

namespace Cloister.Server.Hosting;

/// <summary>The credentials written on first start: <c>{"adminKey", "tenantId", "tenantKey"}</c>.</summary>
public sealed record Credentials(string AdminKey, string TenantId, string TenantKey);

/// <summary>The address a running server listens on, written to server.json so the CLI finds it.</summary>
public sealed record ServerEndpoint(string Url, string? CertificateSha256);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(Credentials))]
[JsonSerializable(typeof(ServerEndpoint))]
internal sealed partial class HostingJsonContext : JsonSerializerContext;

/// <summary>
/// First start: an admin key and a default tenant with a key holding every tenant scope, written to credentials.json.
/// </summary>
/// <remarks>
/// Crash-safe in this order: the keys are made in memory, credentials.json is written whole (temp file, fsync, rename),
/// and only then are the tenant and both keys committed, in one transaction. First start is "the store has no API key",
/// so a crash before the commit leaves nothing committed and the next start runs it again, replacing credentials.json
/// (whose keys were never valid); after the commit, credentials.json already holds the keys. No key is ever logged.
/// </remarks>
internal static class Bootstrap
{
    public const string CredentialsFile = "credentials.json";
    public const string EndpointFile = "server.json";

    private const string Actor = "bootstrap";

    /// <summary>Runs first start if no API key exists yet; returns where credentials.json was written, or null.</summary>
    public static async Task<string?> EnsureAsync(TenantService service, IApiKeyStore store, string dataDirectory, Action<string>? stepDone, CancellationToken cancellationToken)
    {
        if (await store.HasApiKeysAsync(cancellationToken))
        {
            return null;
        }

        var (admin, adminKey) = service.MintApiKey(null, [Scopes.Admin]);
        var (tenant, keys) = await service.PrepareTenantAsync("default", cancellationToken);
        var (tenantKeyRecord, tenantKey) = service.MintApiKey(tenant.Id, Scopes.Tenant);
        var path = Path.Combine(dataDirectory, CredentialsFile);
        SecureFiles.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(new Credentials(adminKey, tenant.Id, tenantKey), HostingJsonContext.Default.Credentials));
        stepDone?.Invoke("credentials-written");

        await store.BootstrapAsync(
            tenant,
            keys,
            [admin, tenantKeyRecord],
            [TenantService.ApiKeyCreated(admin, Actor), TenantService.TenantCreated(tenant, Actor), TenantService.ApiKeyCreated(tenantKeyRecord, Actor)],
            cancellationToken);
        stepDone?.Invoke("committed");
        return path;
    }

    public static void WriteEndpoint(string dataDirectory, ServerEndpoint endpoint)
        => SecureFiles.WriteAllBytes(Path.Combine(dataDirectory, EndpointFile), JsonSerializer.SerializeToUtf8Bytes(endpoint, HostingJsonContext.Default.ServerEndpoint));
}
