using Microsoft.Data.Sqlite;

namespace Cloister.Storage;

/// <summary>Creates and migrates the schema; the version lives in <c>PRAGMA user_version</c>.</summary>
/// <remarks>
/// Versions up to <see cref="TablesVersion"/> create tables (<see cref="Migrate"/>, at open, before the audit chain
/// resumes). Later versions change rows that the audit log must account for (<see cref="MigrateRows"/>): they run on
/// the writer once the chain has resumed, so each change commits together with its audit entry and the version bump.
/// </remarks>
internal static class SqliteSchema
{
    public const int CurrentVersion = 5;

    private const int TablesVersion = 3;

    // Version 4: search got its own scope. Tenant keys that held both tokens:write (which opened search until then) and
    // tokens:reveal (which returns values anyway) keep searching; a write-only key loses the value oracle.
    private const string WriteScope = "tokens:write";
    private const string RevealScope = "tokens:reveal";
    private const string SearchScope = "tokens:search";
    private const string ScopesMigrated = "SELECT id, tenant_id, scopes FROM api_keys WHERE tenant_id IS NOT NULL ORDER BY tenant_id, id";
    private const string UpdateScopes = "UPDATE api_keys SET scopes = $scopes WHERE id = $id";
    private const string ReadVersion = "PRAGMA user_version";
    private const string WriteCurrentVersion = "PRAGMA user_version = 5";

    // Version 5: crypto-shredding's outbox, a tenant deletion or data-key retirement the enclave worker and key broker
    // have not confirmed yet (data_key_version 0: the whole tenant). Committed with the deletion, removed when confirmed.
    private const string CreatePendingShreds = """
        CREATE TABLE IF NOT EXISTS pending_shreds (
            tenant_id TEXT NOT NULL,
            data_key_version INTEGER NOT NULL,
            requested_at INTEGER NOT NULL,
            PRIMARY KEY (tenant_id, data_key_version)
        ) STRICT, WITHOUT ROWID;
        """;

    // Timestamps are unix milliseconds. STRICT makes SQLite enforce the column types.
    // The token indexes are partial where the column is optional: smaller, and the queries that use
    // them (fingerprint = ?, det_key = ?, expires_at <= ?, ciphertext IS NOT NULL) imply the condition.
    private const string Version1 = """
        CREATE TABLE tenants (
            id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            current_key_version INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE wrapped_keys (
            tenant_id TEXT NOT NULL REFERENCES tenants (id),
            purpose TEXT NOT NULL,
            version INTEGER NOT NULL,
            blob BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (tenant_id, purpose, version)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE api_keys (
            id TEXT NOT NULL PRIMARY KEY,
            tenant_id TEXT REFERENCES tenants (id),
            secret_hash BLOB NOT NULL,
            scopes TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        ) STRICT;

        CREATE TABLE tokens (
            tenant_id TEXT NOT NULL REFERENCES tenants (id),
            token TEXT NOT NULL,
            format TEXT NOT NULL,
            alphabet TEXT,
            classifier TEXT NOT NULL,
            key_version INTEGER NOT NULL,
            ciphertext BLOB,
            fingerprint BLOB,
            det_key BLOB,
            mask TEXT NOT NULL,
            metadata TEXT,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            PRIMARY KEY (tenant_id, token)
        ) STRICT;
        CREATE UNIQUE INDEX tokens_det_key ON tokens (tenant_id, det_key) WHERE det_key IS NOT NULL;
        CREATE INDEX tokens_fingerprint ON tokens (tenant_id, fingerprint) WHERE fingerprint IS NOT NULL;
        CREATE INDEX tokens_expires_at ON tokens (expires_at) WHERE expires_at IS NOT NULL;
        CREATE INDEX tokens_key_version ON tokens (tenant_id, key_version) WHERE ciphertext IS NOT NULL;

        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            tenant_id TEXT,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            targets TEXT NOT NULL,
            detail TEXT,
            mac BLOB NOT NULL
        ) STRICT;
        """;

    // Functions: a version row is immutable (its measurement covers manifest and bundle); deleting a
    // function removes its rows. Invocations keep the function's name, version and measurement as text,
    // so they outlive a delete until they expire.
    private const string Version2 = """
        CREATE TABLE functions (
            tenant_id TEXT NOT NULL REFERENCES tenants (id),
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (tenant_id, name)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE function_versions (
            tenant_id TEXT NOT NULL,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            measurement TEXT NOT NULL,
            runtime TEXT NOT NULL,
            manifest TEXT NOT NULL,
            bundle BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (tenant_id, name, version),
            FOREIGN KEY (tenant_id, name) REFERENCES functions (tenant_id, name)
        ) STRICT;

        CREATE TABLE invocations (
            id TEXT NOT NULL PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants (id),
            function_name TEXT NOT NULL,
            version INTEGER NOT NULL,
            measurement TEXT NOT NULL,
            status TEXT NOT NULL,
            result TEXT,
            error_code TEXT,
            error_detail TEXT,
            warm INTEGER NOT NULL,
            duration_ms INTEGER,
            logs TEXT,
            created_at INTEGER NOT NULL,
            completed_at INTEGER,
            expires_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX invocations_expires_at ON invocations (expires_at);
        CREATE INDEX invocations_running ON invocations (status) WHERE status = 'running';
        """;

    // Invocation outcomes are kept only as the worker encrypted them (outcome, under data key outcome_key_version) or as
    // the client's sealed box (sealed_result); error_detail holds only the router's own fixed texts. Rows that version 2
    // completed hold results, error details and logs in clear, and the router, which holds no key, cannot encrypt them:
    // they are deleted (reading one answers 404, as after its expiry), and the file is then rewritten (Scrub); the
    // scrub_pending table says that is still to do, so a crash before it is done does not skip it.
    private const string Version3 = """
        CREATE TABLE scrub_pending (since INTEGER NOT NULL) STRICT;
        INSERT INTO scrub_pending VALUES (unixepoch());
        DELETE FROM invocations WHERE status <> 'running';
        ALTER TABLE invocations DROP COLUMN result;
        ALTER TABLE invocations DROP COLUMN logs;
        ALTER TABLE invocations ADD COLUMN outcome BLOB;
        ALTER TABLE invocations ADD COLUMN outcome_key_version INTEGER;
        ALTER TABLE invocations ADD COLUMN sealed_result BLOB;
        """;

    /// <summary>
    /// Creates or migrates the tables to <paramref name="targetVersion"/> (<see cref="TablesVersion"/>; tests build older
    /// files with a lower one). <see cref="MigrateRows"/> takes the file the rest of the way.
    /// </summary>
    public static void Migrate(SqliteConnection connection, int targetVersion = TablesVersion)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(targetVersion, TablesVersion);
        var version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
        if (version > CurrentVersion)
        {
            throw new VaultStoreException($"{DataFiles.Database} has schema version {version}; this build knows up to {CurrentVersion}.");
        }

        if (version < targetVersion)
        {
            using var transaction = connection.BeginTransaction();
            string[] steps = [Version1, Version2, Version3];
            for (var step = version; step < targetVersion; step++)
            {
                Execute(connection, transaction, steps[step]);
            }

            Execute(connection, transaction, $"PRAGMA user_version = {targetVersion}");
            transaction.Commit();
        }

        // A new file has nothing to scrub: drop the marker without rewriting anything.
        if (version == 0 && targetVersion >= 3)
        {
            Execute(connection, null, "DROP TABLE scrub_pending");
        }
        else if (Scalar(connection, "SELECT count(*) FROM sqlite_schema WHERE name = 'scrub_pending'") is > 0L)
        {
            Scrub(connection);
        }
    }

    /// <summary>
    /// Leaves no byte of deleted rows anywhere in the files: VACUUM rebuilds the database (free pages and the freed
    /// space inside pages still held what was deleted), and a truncating checkpoint empties the WAL (which may still hold
    /// earlier images of those pages, after a crash). It takes time and free disk space in proportion to the database,
    /// once; a crash before the marker is dropped only makes the next start do it again.
    /// </summary>
    private static void Scrub(SqliteConnection connection)
    {
        Execute(connection, null, "VACUUM");
        Execute(connection, null, "PRAGMA wal_checkpoint(TRUNCATE)");
        Execute(connection, null, "DROP TABLE scrub_pending");
    }

    /// <summary>
    /// Runs the row migrations above <see cref="TablesVersion"/> inside the writer's transaction, each audited, and
    /// records <see cref="CurrentVersion"/>. Returns how many rows changed.
    /// </summary>
    public static int MigrateRows(SqliteWriter writer)
    {
        var db = writer.Db;
        var version = Convert.ToInt32(db.Command(ReadVersion).ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (version >= CurrentVersion)
        {
            return 0;
        }

        var changed = 0;
        if (version < 4)
        {
            changed += GrantSearchScope(writer);
        }

        if (version < 5)
        {
            db.Execute(CreatePendingShreds);
        }

        db.Execute(WriteCurrentVersion);
        return changed;
    }

    /// <summary>Version 4: adds tokens:search to every tenant key holding tokens:write and tokens:reveal; one audit entry per tenant.</summary>
    private static int GrantSearchScope(SqliteWriter writer)
    {
        var granted = new List<(string Id, string Tenant, string[] Scopes)>();
        using (var reader = writer.Db.Command(ScopesMigrated).ExecuteReader())
        {
            while (reader.Read())
            {
                var scopes = StorageJsonContext.Parse(reader.GetString(2));
                if (scopes.Contains(WriteScope) && scopes.Contains(RevealScope) && !scopes.Contains(SearchScope))
                {
                    granted.Add((reader.GetString(0), reader.GetString(1), [.. scopes, SearchScope]));
                }
            }
        }

        var update = writer.Db.Command(UpdateScopes, "$scopes", "$id");
        foreach (var (id, _, scopes) in granted)
        {
            update.Parameters[0].Value = StorageJsonContext.Serialize(scopes);
            update.Parameters[1].Value = id;
            update.ExecuteNonQuery();
        }

        foreach (var tenant in granted.GroupBy(g => g.Tenant, StringComparer.Ordinal))
        {
            writer.AppendAudit(new AuditEntry(
                tenant.Key,
                "system",
                "apikey.scopes.migrate",
                [.. tenant.Select(g => g.Id)],
                $"schema 4: {SearchScope} added to keys holding {WriteScope} and {RevealScope} (search needs its own scope from this version)"));
        }

        return granted.Count;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
