using System.Text.Json;
using System.Text.Json.Serialization;
using Cloister.Server.Auth;
using Cloister.Server.Tenants;

namespace Cloister.Server.Hosting;

/// <summary>The credentials written on first start: <c>{"adminKey", "tenantId", "tenantKey"}</c>.</summary>
public sealed record Credentials(string AdminKey, string TenantId, string TenantKey);

/// <summary>The address a running server listens on, written to server.json so the CLI finds it.</summary>
public sealed record ServerEndpoint(string Url, string? CertificateSha256);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(Credentials))]
[JsonSerializable(typeof(ServerEndpoint))]
internal sealed partial class HostingJsonContext : JsonSerializerContext;

/// <summary>First start: an admin key and a default tenant with a key holding every tenant scope.</summary>
internal static class Bootstrap
{
    public const string CredentialsFile = "credentials.json";
    public const string EndpointFile = "server.json";

    public static async Task<string> CreateAsync(TenantService service, string dataDirectory, CancellationToken cancellationToken)
    {
        var (_, adminKey) = await service.CreateApiKeyAsync(null, [Scopes.Admin], "bootstrap", cancellationToken);
        var tenant = await service.CreateTenantAsync("default", "bootstrap", cancellationToken);
        var (_, tenantKey) = await service.CreateApiKeyAsync(tenant.Id, Scopes.Tenant, "bootstrap", cancellationToken);
        var path = Path.Combine(dataDirectory, CredentialsFile);
        SecureFiles.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(new Credentials(adminKey, tenant.Id, tenantKey), HostingJsonContext.Default.Credentials));
        return path;
    }

    public static void WriteEndpoint(string dataDirectory, ServerEndpoint endpoint)
        => SecureFiles.WriteAllBytes(Path.Combine(dataDirectory, EndpointFile), JsonSerializer.SerializeToUtf8Bytes(endpoint, HostingJsonContext.Default.ServerEndpoint));
}
