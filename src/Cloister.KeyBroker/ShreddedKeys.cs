using System.Text;
using System.Text.Json;

namespace Cloister.KeyBroker;

/// <summary>
/// The tenants deleted and the data-key versions retired, whose keys the broker never unwraps again
/// (crypto-shredding): one JSON line each in <c>keybroker-shredded.jsonl</c> in the broker's data directory
/// (<c>{"time": …, "tenant": …, "dataKeyVersion": null | n}</c>, mode 0600), fsync'd before the shredding is
/// acknowledged, read whole at start.
/// </summary>
/// <remarks>
/// Fails closed: a file that cannot be read, or a line that does not parse, stops the broker at start
/// (<see cref="KeyBrokerException"/>) rather than let it unwrap a shredded tenant's keys. Only a last line without
/// its newline is dropped (a write a crash cut short, which was never acknowledged, so its sender retries it).
/// Whoever can edit the file can also read the master key beside it; the file guards against copies of the wrapped
/// keys (a backup of the router's database, a router that kept them), not against the broker's own host.
/// </remarks>
internal sealed class ShreddedKeys
{
    public const string FileName = "keybroker-shredded.jsonl";

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly HashSet<string> _tenants = new(StringComparer.Ordinal);
    private readonly HashSet<(string TenantId, int Version)> _dataKeys = [];

    public ShreddedKeys(string dataDirectory, TimeProvider time)
    {
        _time = time;
        Path = System.IO.Path.Combine(dataDirectory, FileName);
        Load();
    }

    public string Path { get; }

    /// <summary>Whether the tenant was deleted, or one of <paramref name="dataKeyVersions"/> of it retired.</summary>
    public bool Refuses(string tenantId, IEnumerable<int> dataKeyVersions)
    {
        lock (_lock)
        {
            return _tenants.Contains(tenantId) || dataKeyVersions.Any(version => _dataKeys.Contains((tenantId, version)));
        }
    }

    /// <summary>Records the tenant (<paramref name="dataKeyVersion"/> null) or one data-key version as shredded, durably, before returning.</summary>
    public void Record(string tenantId, int? dataKeyVersion)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("time", _time.GetUtcNow());
            writer.WriteString("tenant", tenantId);
            if (dataKeyVersion is { } version)
            {
                writer.WriteNumber("dataKeyVersion", version);
            }
            else
            {
                writer.WriteNull("dataKeyVersion");
            }

            writer.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        lock (_lock)
        {
            if (dataKeyVersion is { } retired ? _dataKeys.Contains((tenantId, retired)) : _tenants.Contains(tenantId))
            {
                return;
            }

            using (var stream = new FileStream(Path, new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
            {
                stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
                stream.Flush(flushToDisk: true);
            }

            Remember(tenantId, dataKeyVersion);
        }
    }

    private void Remember(string tenantId, int? dataKeyVersion)
    {
        if (dataKeyVersion is { } version)
        {
            _dataKeys.Add((tenantId, version));
        }
        else
        {
            _tenants.Add(tenantId);
        }
    }

    private void Load()
    {
        byte[] content;
        try
        {
            if (!File.Exists(Path))
            {
                return;
            }

            content = File.ReadAllBytes(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyBrokerException($"Cannot read {Path} ({e.Message}); the key broker does not start without its record of deleted tenants.", e);
        }

        var complete = content.AsSpan(0, content.AsSpan().LastIndexOf((byte)'\n') + 1);
        var number = 0;
        foreach (var line in Encoding.UTF8.GetString(complete).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            number++;
            if (!TryParse(line, out var tenantId, out var version))
            {
                throw new KeyBrokerException($"{Path} line {number} is not a shredding record; the key broker does not start without its record of deleted tenants (restore the file from a backup).");
            }

            Remember(tenantId, version);
        }

        if (complete.Length < content.Length)
        {
            // A record a crash cut short was never acknowledged: drop it, so that the next one starts on its own line.
            using var stream = new FileStream(Path, FileMode.Open, FileAccess.Write);
            stream.SetLength(complete.Length);
            stream.Flush(flushToDisk: true);
        }
    }

    private static bool TryParse(string line, out string tenantId, out int? version)
    {
        tenantId = string.Empty;
        version = null;
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("tenant", out var tenant) || tenant.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(tenant.GetString())
                || !root.TryGetProperty("dataKeyVersion", out var dataKeyVersion))
            {
                return false;
            }

            if (dataKeyVersion.ValueKind == JsonValueKind.Number && dataKeyVersion.TryGetInt32(out var number) && number >= 1)
            {
                version = number;
            }
            else if (dataKeyVersion.ValueKind != JsonValueKind.Null)
            {
                return false;
            }

            tenantId = tenant.GetString()!;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
