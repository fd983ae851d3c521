using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Cloister.Storage;

/// <summary>The verdict of <see cref="AuditVerifier.Verify"/>.</summary>
/// <param name="Ok">True when every entry's MAC chains and the log reaches the checkpoint.</param>
/// <param name="EntryCount">How many entries the log holds.</param>
/// <param name="FirstBadSeq">The first entry that is wrong or missing, when one can be named.</param>
/// <param name="Reason">One line saying what is wrong; null when <paramref name="Ok"/>.</param>
public sealed record AuditVerifyResult(bool Ok, long EntryCount, long? FirstBadSeq, string? Reason);

/// <summary>
/// Checks a data directory's audit log (<c>cloister audit verify</c>): walks the chain in seq order,
/// recomputing each entry's MAC from the previous one with <c>audit.key</c>, then compares the end of the
/// log with the <c>audit.head</c> checkpoint. Detects edited, deleted, inserted and reordered entries,
/// truncation (even of the last entry), and a forged checkpoint. Safe to run while the store is open.
/// </summary>
public static class AuditVerifier
{
    public static AuditVerifyResult Verify(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        var key = AuditKeyFile.Load(Path.Combine(dataDirectory, DataFiles.AuditKey));
        if (key is null)
        {
            return File.Exists(Path.Combine(dataDirectory, DataFiles.AuditKey))
                ? Bad(0, null, $"{DataFiles.AuditKey} is damaged (not {AuditKeyFile.KeySize} bytes)")
                : Bad(0, null, $"{DataFiles.AuditKey} missing");
        }

        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        CryptographicOperations.ZeroMemory(key);

        // The checkpoint is read before the log: the store rewrites it only after a commit, so a checkpoint
        // read first can never be ahead of a log read after it, even while the store is writing.
        var head = ReadCheckpoint(Path.Combine(dataDirectory, DataFiles.AuditHead), hmac);

        var databasePath = Path.Combine(dataDirectory, DataFiles.Database);
        if (!File.Exists(databasePath))
        {
            return Bad(0, null, $"{DataFiles.Database} missing");
        }

        try
        {
            return VerifyLog(hmac, databasePath, head);
        }
        catch (SqliteException e)
        {
            return Bad(0, null, $"{DataFiles.Database} could not be read: {e.Message}");
        }
    }

    private static AuditVerifyResult VerifyLog(IncrementalHash hmac, string databasePath, byte[] head)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        using var connection = new SqliteConnection(connectionString);
        connection.Open();

        // One read transaction: the count and the walk see the same snapshot.
        using var transaction = connection.BeginTransaction(deferred: true);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT count(*) FROM audit";
        var count = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);

        var headValid = AuditCodec.TryDecodeHead(hmac, head, out var headSeq, out var headMac);
        byte[]? macAtHead = null;

        command.CommandText = "SELECT seq, at, tenant_id, actor, action, targets, detail, mac FROM audit ORDER BY seq";
        using (var reader = command.ExecuteReader())
        {
            var previous = new byte[AuditCodec.MacSize];
            var computed = new byte[AuditCodec.MacSize];
            long expected = 1;
            while (reader.Read())
            {
                var seq = reader.GetInt64(0);
                if (seq != expected)
                {
                    return expected == 1
                        ? Bad(count, 1, $"entry 1 missing (the log starts at {seq})")
                        : Bad(count, expected, $"entry {expected} missing (gap after {expected - 1})");
                }

                byte[] stored;
                try
                {
                    AuditCodec.ComputeEntryMac(
                        hmac,
                        previous,
                        seq,
                        reader.GetInt64(1),
                        Rows.OptionalString(reader, 2),
                        reader.GetString(3),
                        reader.GetString(4),
                        StorageJsonContext.Parse(reader.GetString(5)),
                        Rows.OptionalString(reader, 6),
                        computed);
                    stored = reader.GetFieldValue<byte[]>(7);
                }
                catch (Exception e) when (e is JsonException or InvalidCastException or FormatException or InvalidOperationException)
                {
                    return Bad(count, seq, $"entry {seq}: malformed ({e.GetType().Name})");
                }

                if (!CryptographicOperations.FixedTimeEquals(computed, stored))
                {
                    return Bad(count, seq, $"entry {seq}: MAC mismatch (edited or reordered)");
                }

                if (headValid && seq == headSeq)
                {
                    macAtHead = (byte[])computed.Clone();
                }

                (previous, computed) = (computed, previous);
                expected++;
            }

            var last = expected - 1;
            if (head.Length == 0)
            {
                return last == 0 ? Good(count) : Bad(count, null, $"{DataFiles.AuditHead} missing (the log has {last} entries)");
            }

            if (!headValid)
            {
                return Bad(count, null, "checkpoint MAC invalid");
            }

            if (headSeq > last)
            {
                return Bad(count, last + 1, $"chain ends at {last} but the checkpoint says {headSeq} (truncated)");
            }

            if (macAtHead is null || !CryptographicOperations.FixedTimeEquals(macAtHead, headMac))
            {
                return Bad(count, headSeq, $"entry {headSeq} differs from the checkpoint (log rewritten)");
            }

            return Good(count);
        }
    }

    /// <summary>
    /// The checkpoint's bytes. One that fails its MAC is read again a couple of times first: a read racing the
    /// store's in-place rewrite can in principle see a mix of two checkpoints, and that is not tampering.
    /// </summary>
    private static byte[] ReadCheckpoint(string path, IncrementalHash hmac)
    {
        for (var attempt = 0; ; attempt++)
        {
            var head = File.Exists(path) ? File.ReadAllBytes(path) : [];
            if (head.Length == 0 || attempt == 2 || AuditCodec.TryDecodeHead(hmac, head, out _, out _))
            {
                return head;
            }

            Thread.Sleep(5);
        }
    }

    private static AuditVerifyResult Good(long count) => new(true, count, null, null);

    private static AuditVerifyResult Bad(long count, long? firstBadSeq, string reason) => new(false, count, firstBadSeq, reason);
}
