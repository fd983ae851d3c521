using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cloister.Cli.Commands;
using Cloister.Crypto;
using Cloister.Attestation.Policy;
using Cloister.Client;

namespace Cloister.Cli;

/// <summary>Options every client command takes, and how they resolve: flag, then environment, then the data dir's files.</summary>
internal static class GlobalOptions
{
    public static readonly Option<string?> Url = new("--url") { Description = "Server URL (default: $CLOISTER_URL, then <data-dir>/server.json when the key also comes from <data-dir>, then http://127.0.0.1:8080).", Recursive = true };
    public static readonly Option<string?> Key = new("--key") { Description = "API key (default: $CLOISTER_API_KEY / $CLOISTER_ADMIN_KEY, then <data-dir>/credentials.json).", Recursive = true };
    public static readonly Option<string?> DataDir = HostCommand.DataDir;
    public static readonly Option<bool> Json = new("--json") { Description = "Print JSON instead of text.", Recursive = true };
}

/// <summary>Resolved connection settings for one command.</summary>
internal sealed class CliSettings
{
    private CliSettings(string dataDir, string url, string? certificateSha256, string? explicitKey, JsonElement? credentials, bool json)
    {
        DataDir = dataDir;
        Url = url;
        CertificateSha256 = certificateSha256;
        _explicitKey = explicitKey;
        _credentials = credentials;
        Json = json;
    }

    private readonly string? _explicitKey;
    private readonly JsonElement? _credentials;

    public string DataDir { get; }

    public string Url { get; }

    public string? CertificateSha256 { get; }

    public bool Json { get; }

    public static string ResolveDataDir(ParseResult parse) => HostCommand.ResolveDataDir(parse);

    public static CliSettings From(ParseResult parse)
    {
        var dataDir = ResolveDataDir(parse);
        var explicitKey = parse.GetValue(GlobalOptions.Key);
        var keyFromElsewhere = explicitKey is not null
            || Environment.GetEnvironmentVariable("CLOISTER_API_KEY") is not null
            || Environment.GetEnvironmentVariable("CLOISTER_ADMIN_KEY") is not null;

        // server.json is trusted only together with that directory's own credentials: a key given on the
        // command line or in the environment is never sent to an address some ./.cloister/server.json names.
        var endpoint = keyFromElsewhere ? null : ReadJson(Path.Combine(dataDir, "server.json"));
        var url = parse.GetValue(GlobalOptions.Url)
            ?? Environment.GetEnvironmentVariable("CLOISTER_URL")
            ?? (endpoint?.TryGetProperty("url", out var u) == true ? u.GetString() : null)
            ?? "http://127.0.0.1:8080";
        var pin = endpoint?.TryGetProperty("certificateSha256", out var c) == true && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        return new CliSettings(dataDir, url, pin, explicitKey, ReadJson(Path.Combine(dataDir, CredentialsFileName)), parse.GetValue(GlobalOptions.Json));
    }

    /// <summary>The tenant of the credentials file (default for --tenant).</summary>
    public string? DefaultTenantId => Stored("tenantId");

    /// <summary>The credentials file: &lt;data-dir&gt;/credentials.json.</summary>
    public string CredentialsPath => Path.Combine(DataDir, CredentialsFileName);

    /// <summary>
    /// Replaces <paramref name="field"/> of the credentials file with <paramref name="key"/>, keeping its other fields:
    /// written 0600 beside it and renamed into place, so the file is never half written nor readable by others.
    /// </summary>
    public void StoreKey(string field, string key)
    {
        var credentials = _credentials is { } read ? JsonNode.Parse(read.GetRawText())!.AsObject() : [];
        credentials[field] = key;
        OwnerOnlyFile.Write(CredentialsPath, Encoding.UTF8.GetBytes(credentials.ToJsonString(IndentedNodes) + "\n"));
    }

    /// <summary>The credentials file's field for the admin key.</summary>
    public const string AdminKeyField = "adminKey";

    /// <summary>The credentials file's field for the default tenant's key.</summary>
    public const string TenantKeyField = "tenantKey";

    private const string CredentialsFileName = "credentials.json";

    private static readonly JsonSerializerOptions IndentedNodes = new() { WriteIndented = true, TypeInfoResolver = ClientJsonContextNodes.Default };

    public string TenantKey => _explicitKey ?? Environment.GetEnvironmentVariable("CLOISTER_API_KEY") ?? Stored(TenantKeyField)
        ?? throw new CliException($"No API key: pass --key, set CLOISTER_API_KEY, or run 'cloister serve' once so that {CredentialsPath} exists.");

    public string AdminKey => _explicitKey ?? Environment.GetEnvironmentVariable("CLOISTER_ADMIN_KEY") ?? Stored(AdminKeyField)
        ?? throw new CliException($"No admin key: pass --key, set CLOISTER_ADMIN_KEY, or run 'cloister serve' once so that {CredentialsPath} exists.");

    /// <summary>The attestation policy for sealed commands (<see cref="ReadPolicy"/>), with a warning on stderr when it accepts simulated evidence.</summary>
    public AttestationPolicyFile LoadPolicy(string? path)
    {
        var policy = ReadPolicy(path, out var used);
        if (policy.AllowsSimulated)
        {
            Console.Error.WriteLine($"{SimulatedWarningPrefix} {used} accepts SIMULATED evidence: the worker is not proven to run in a TEE (fine on a development machine, not for real data).");
        }

        return policy;
    }

    /// <summary>The attestation policy <paramref name="path"/> (--policy) names, else &lt;data-dir&gt;/attestation-policy.json; <paramref name="used"/> is the file read.</summary>
    /// <exception cref="CliException">The file does not exist or is not a valid policy (exit code 2).</exception>
    public AttestationPolicyFile ReadPolicy(string? path, out string used)
    {
        used = path ?? Path.Combine(DataDir, PolicyFileName);
        if (!File.Exists(used))
        {
            throw new CliException(path is null
                ? $"No attestation policy: pass --policy FILE ('cloister serve' writes {used} at its first start)."
                : $"--policy: {path} does not exist.", 2);
        }

        return AttestationPolicyFile.TryLoad(used, out var policy, out var error) ? policy : throw new CliException(error, 2);
    }

    /// <summary>How the warning about a policy that accepts simulated evidence starts.</summary>
    public const string SimulatedWarningPrefix = "cloister: warning: the attestation policy";

    /// <summary>The policy file's name in the data directory.</summary>
    public const string PolicyFileName = "attestation-policy.json";

    public CloisterClient CreateClient(string apiKey)
    {
        if (!Uri.TryCreate(Url.EndsWith('/') ? Url : Url + "/", UriKind.Absolute, out var baseAddress))
        {
            throw new CliException($"'{Url}' is not a valid URL.", 2);
        }

        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (CertificateSha256 is { } pin)
        {
            // The server's own self-signed certificate, recorded by `cloister serve` in server.json: trust exactly it.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == System.Net.Security.SslPolicyErrors.None
                || (certificate is not null && string.Equals(certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256), pin, StringComparison.OrdinalIgnoreCase));
        }

        return new CloisterClient(new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(100) }, apiKey);
    }

    /// <summary>A string field of the credentials file (<see cref="AdminKeyField"/>, <see cref="TenantKeyField"/>, "tenantId"), or null.</summary>
    public string? Stored(string name)
        => _credentials?.TryGetProperty(name, out var value) == true && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static JsonElement? ReadJson(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.Clone();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
