using System.Text.Json;

namespace Cloister.KeyBroker;

/// <summary>One audited release or refusal. Never carries key bytes, evidence or claims: names, codes and hashes only.</summary>
/// <param name="Event">"release", "refusal" or "shred".</param>
/// <param name="Operation">"attest", "unwrap" or "shred".</param>
/// <param name="TenantId">The tenant whose keys were asked for (null for an attestation).</param>
/// <param name="WorkerMeasurement">The worker measurement the claims named, when they parsed.</param>
/// <param name="Tee">The TEE name the worker gave.</param>
/// <param name="Verdict">The appraisal verdict ("affirming", "warning", "contraindicated"), when the evidence was appraised.</param>
/// <param name="Checks">Failed checks (refusal) or the reasons of a warning verdict (release).</param>
/// <param name="Reason">The error code of a refusal; for a shred, what was shredded.</param>
internal sealed record AuditEvent(string Event, string Operation, string? TenantId, string? WorkerMeasurement, string? Tee, string? Verdict, IReadOnlyList<string> Checks, string? Reason)
{
    public const string Release = "release";

    public const string Refusal = "refusal";

    /// <summary>A tenant's keys, or one data-key version, recorded as never to be unwrapped again (event and operation).</summary>
    public const string Shred = "shred";

    public const string Unwrap = "unwrap";
}

/// <summary>
/// Appends every release, refusal and shred as one JSON line to <c>keybroker-audit.jsonl</c> in the broker's data
/// directory, fsync'd before the response leaves, so a key never goes out unaudited. The file is mode 0600.
/// </summary>
internal sealed class ReleaseAudit(string dataDirectory, TimeProvider time)
{
    public const string FileName = "keybroker-audit.jsonl";

    private readonly Lock _lock = new();

    public string Path { get; } = System.IO.Path.Combine(dataDirectory, FileName);

    public void Write(AuditEvent entry)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("time", time.GetUtcNow());
            writer.WriteString("event", entry.Event);
            writer.WriteString("operation", entry.Operation);
            WriteOptional(writer, "tenant", entry.TenantId);
            WriteOptional(writer, "workerMeasurement", entry.WorkerMeasurement);
            WriteOptional(writer, "tee", entry.Tee);
            WriteOptional(writer, "verdict", entry.Verdict);
            writer.WriteStartArray("checks");
            foreach (var check in entry.Checks)
            {
                writer.WriteStringValue(check);
            }

            writer.WriteEndArray();
            WriteOptional(writer, "reason", entry.Reason);
            writer.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        lock (_lock)
        {
            var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var stream = new FileStream(Path, options);
            stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
            stream.Flush(flushToDisk: true);
        }
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }
}
