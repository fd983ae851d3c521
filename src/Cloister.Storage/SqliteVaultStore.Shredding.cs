namespace Cloister.Storage;

/// <summary>Crypto-shredding: deleting a tenant, retiring a data-key version, and the outbox of their confirmations.</summary>
public sealed partial class SqliteVaultStore
{
    private static class ShredSql
    {
        public const string TenantVersion = "SELECT current_key_version FROM tenants WHERE id = $tenant";
        public const string TenantApiKeys = "SELECT id FROM api_keys WHERE tenant_id = $tenant ORDER BY id";

        // Children before parents (foreign keys are on). Admin keys have a NULL tenant and are never matched.
        public const string DeleteFunctionVersions = "DELETE FROM function_versions WHERE tenant_id = $tenant";
        public const string DeleteFunctions = "DELETE FROM functions WHERE tenant_id = $tenant";
        public const string DeleteInvocations = "DELETE FROM invocations WHERE tenant_id = $tenant";
        public const string DeleteTokens = "DELETE FROM tokens WHERE tenant_id = $tenant";
        public const string DeleteWrappedKeys = "DELETE FROM wrapped_keys WHERE tenant_id = $tenant";
        public const string DeleteApiKeys = "DELETE FROM api_keys WHERE tenant_id = $tenant";
        public const string DeleteTenant = "DELETE FROM tenants WHERE id = $tenant";

        public const string DataKeyExists = "SELECT 1 FROM wrapped_keys WHERE tenant_id = $tenant AND purpose = 'data' AND version = $version";
        public const string TokensUnderVersion = "SELECT count(*) FROM tokens WHERE tenant_id = $tenant AND key_version = $version AND ciphertext IS NOT NULL";
        public const string OutcomesUnderVersion = "SELECT count(*) FROM invocations WHERE tenant_id = $tenant AND outcome_key_version = $version";
        public const string RunningInvocations = "SELECT count(*) FROM invocations WHERE tenant_id = $tenant AND status = 'running'";
        public const string DeleteDataKey = "DELETE FROM wrapped_keys WHERE tenant_id = $tenant AND purpose = 'data' AND version = $version";

        public const string InsertPending = "INSERT INTO pending_shreds (tenant_id, data_key_version, requested_at) VALUES ($tenant, $version, $at) ON CONFLICT DO NOTHING";
        public const string ListPending = "SELECT tenant_id, data_key_version, requested_at FROM pending_shreds ORDER BY requested_at, tenant_id, data_key_version";
        public const string DeletePending = "DELETE FROM pending_shreds WHERE tenant_id = $tenant AND data_key_version = $version";

        // ON while the deletion runs: SQLite overwrites what it deletes (in-page content and freed pages) with zeros.
        public const string SecureDeleteOn = "PRAGMA secure_delete = ON";
        public const string SecureDeleteOff = "PRAGMA secure_delete = OFF";
    }

    // The whole tenant in pending_shreds.data_key_version.
    private const int WholeTenant = 0;

    /// <remarks>
    /// One transaction, so the deletion and its queued shredding commit together. Deleted rows are overwritten with zeros
    /// in the database (<c>secure_delete</c>), and the WAL, which still held earlier images of those pages, is then
    /// checkpointed and truncated (best effort: a reader that holds an old snapshot for longer than the busy timeout
    /// leaves it for the background checkpoints, and SQLite overwrites the WAL from its start as it is reused).
    /// </remarks>
    public async Task<TenantDeletion?> DeleteTenantAsync(string tenantId, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ValidateEntry(audit);
        var deleted = await WriteAsync((tenantId, audit), static (w, s) =>
        {
            if (CurrentVersion(w.Db, s.tenantId) is null)
            {
                return null;
            }

            var apiKeys = new List<string>();
            var select = w.Db.Command(ShredSql.TenantApiKeys, "$tenant");
            select.Parameters[0].Value = s.tenantId;
            using (var r = select.ExecuteReader())
            {
                while (r.Read())
                {
                    apiKeys.Add(r.GetString(0));
                }
            }

            w.Db.Execute(ShredSql.SecureDeleteOn);
            try
            {
                Delete(w, ShredSql.DeleteFunctionVersions, s.tenantId);
                var functions = Delete(w, ShredSql.DeleteFunctions, s.tenantId);
                var invocations = Delete(w, ShredSql.DeleteInvocations, s.tenantId);
                var tokens = Delete(w, ShredSql.DeleteTokens, s.tenantId);
                var wrappedKeys = Delete(w, ShredSql.DeleteWrappedKeys, s.tenantId);
                Delete(w, ShredSql.DeleteApiKeys, s.tenantId);
                Delete(w, ShredSql.DeleteTenant, s.tenantId);
                InsertPending(w, s.tenantId, WholeTenant);
                w.AppendAudit(s.audit);
                return new TenantDeletion(apiKeys, tokens, functions, invocations, wrappedKeys);
            }
            finally
            {
                w.Db.Execute(ShredSql.SecureDeleteOff);
            }
        }, 16, cancellationToken).ConfigureAwait(false);

        if (deleted is not null)
        {
            await _checkpointer.TruncateAsync(cancellationToken).ConfigureAwait(false);
        }

        return deleted;
    }

    public async Task<DataKeyRetirement> RetireDataKeyAsync(string tenantId, int version, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ValidateEntry(audit);
        var retirement = await WriteAsync((tenantId, version, audit), static (w, s) =>
        {
            var current = CurrentVersion(w.Db, s.tenantId);
            if (current is null)
            {
                return new DataKeyRetirement(DataKeyRetireStatus.TenantNotFound);
            }

            if (current == s.version)
            {
                return new DataKeyRetirement(DataKeyRetireStatus.Current);
            }

            if (!DataKeyExists(w.Db, s.tenantId, s.version))
            {
                return new DataKeyRetirement(DataKeyRetireStatus.VersionNotFound);
            }

            var tokens = Count(w, ShredSql.TokensUnderVersion, s.tenantId, s.version);
            var outcomes = Count(w, ShredSql.OutcomesUnderVersion, s.tenantId, s.version);
            var running = Count(w, ShredSql.RunningInvocations, s.tenantId, null);
            if (tokens + outcomes + running > 0)
            {
                return new DataKeyRetirement(DataKeyRetireStatus.InUse, tokens, outcomes, running);
            }

            w.Db.Execute(ShredSql.SecureDeleteOn);
            try
            {
                var delete = w.Db.Command(ShredSql.DeleteDataKey, "$tenant", "$version");
                delete.Parameters[0].Value = s.tenantId;
                delete.Parameters[1].Value = s.version;
                delete.ExecuteNonQuery();
            }
            finally
            {
                w.Db.Execute(ShredSql.SecureDeleteOff);
            }

            InsertPending(w, s.tenantId, s.version);
            w.AppendAudit(s.audit);
            return new DataKeyRetirement(DataKeyRetireStatus.Retired);
        }, 3, cancellationToken).ConfigureAwait(false);

        if (retirement.Status == DataKeyRetireStatus.Retired)
        {
            await _checkpointer.TruncateAsync(cancellationToken).ConfigureAwait(false);
        }

        return retirement;
    }

    public Task<IReadOnlyList<PendingShred>> GetPendingShredsAsync(CancellationToken cancellationToken)
        => ReadAsync(0, static (db, _) =>
        {
            var pending = new List<PendingShred>();
            using var r = db.Command(ShredSql.ListPending).ExecuteReader();
            while (r.Read())
            {
                var version = r.GetInt32(1);
                pending.Add(new PendingShred(r.GetString(0), version == WholeTenant ? null : version, Rows.Time(r.GetInt64(2))));
            }

            return (IReadOnlyList<PendingShred>)pending;
        }, cancellationToken);

    public Task<bool> CompleteShredAsync(PendingShred shred, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(shred);
        ValidateEntry(audit);
        return WriteAsync((shred, audit), static (w, s) =>
        {
            var delete = w.Db.Command(ShredSql.DeletePending, "$tenant", "$version");
            delete.Parameters[0].Value = s.shred.TenantId;
            delete.Parameters[1].Value = s.shred.DataKeyVersion ?? WholeTenant;
            if (delete.ExecuteNonQuery() == 0)
            {
                return false;
            }

            w.AppendAudit(s.audit);
            return true;
        }, 2, cancellationToken);
    }

    /// <summary>
    /// Throws <see cref="VaultStoreException"/> when a token of <paramref name="tokens"/> is encrypted under a data-key
    /// version the tenant no longer has (retired, or the tenant deleted, while its create was in flight): stored, it
    /// could never be revealed. Runs inside the insert's transaction, so it and a retirement are ordered.
    /// </summary>
    private static void RequireDataKeys(SqliteWriter w, string tenantId, IReadOnlyList<TokenRecord> tokens)
    {
        foreach (var version in tokens.Where(t => t.Ciphertext is not null).Select(t => t.KeyVersion).Distinct())
        {
            if (!DataKeyExists(w.Db, tenantId, version))
            {
                throw new VaultStoreException($"Data key version {version} of the tenant was retired (or the tenant deleted) while the tokens were being created; nothing was stored.");
            }
        }
    }

    private static int? CurrentVersion(PreparedConnection db, string tenantId)
    {
        var select = db.Command(ShredSql.TenantVersion, "$tenant");
        select.Parameters[0].Value = tenantId;
        return select.ExecuteScalar() is long version ? (int)version : null;
    }

    private static bool DataKeyExists(PreparedConnection db, string tenantId, int version)
    {
        var select = db.Command(ShredSql.DataKeyExists, "$tenant", "$version");
        select.Parameters[0].Value = tenantId;
        select.Parameters[1].Value = version;
        return select.ExecuteScalar() is not null;
    }

    private static int Delete(SqliteWriter w, string sql, string tenantId)
    {
        var delete = w.Db.Command(sql, "$tenant");
        delete.Parameters[0].Value = tenantId;
        return delete.ExecuteNonQuery();
    }

    private static int Count(SqliteWriter w, string sql, string tenantId, int? version)
    {
        var count = version is null ? w.Db.Command(sql, "$tenant") : w.Db.Command(sql, "$tenant", "$version");
        count.Parameters[0].Value = tenantId;
        if (version is not null)
        {
            count.Parameters[1].Value = version;
        }

        return Convert.ToInt32(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void InsertPending(SqliteWriter w, string tenantId, int version)
    {
        var insert = w.Db.Command(ShredSql.InsertPending, "$tenant", "$version", "$at");
        insert.Parameters[0].Value = tenantId;
        insert.Parameters[1].Value = version;
        insert.Parameters[2].Value = w.Time.GetUtcNow().ToUnixTimeMilliseconds();
        insert.ExecuteNonQuery();
    }
}
