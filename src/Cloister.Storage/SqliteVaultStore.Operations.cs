namespace Cloister.Storage;

/// <summary>The <see cref="IVaultStore"/> operations: reads on pooled read connections, writes on the writer loop.</summary>
public sealed partial class SqliteVaultStore
{
    // How many expired tokens one purge transaction deletes, so a large purge never holds the writer
    // (and every caller queued behind it) for long.
    private const int PurgeBatchSize = 1000;

    private static readonly InsertOutcome InsertedOutcome = new(InsertStatus.Inserted);
    private static readonly InsertOutcome TokenTakenOutcome = new(InsertStatus.TokenTaken);

    private static class Sql
    {
        public const string InsertTenant = "INSERT INTO tenants (id, name, current_key_version, created_at) VALUES ($id, $name, $version, $created_at) ON CONFLICT DO NOTHING";
        public const string GetTenant = "SELECT id, name, current_key_version, created_at FROM tenants WHERE id = $id";
        public const string AdvanceKeyVersion = "UPDATE tenants SET current_key_version = $version WHERE id = $id AND current_key_version = $version - 1";
        public const string InsertWrappedKey = "INSERT INTO wrapped_keys (tenant_id, purpose, version, blob, created_at) VALUES ($tenant, $purpose, $version, $blob, $created_at)";
        public const string GetWrappedKeys = "SELECT tenant_id, purpose, version, blob, created_at FROM wrapped_keys WHERE tenant_id = $tenant ORDER BY purpose, version";

        public const string InsertApiKey = "INSERT INTO api_keys (id, tenant_id, secret_hash, scopes, created_at, revoked_at) VALUES ($id, $tenant, $hash, $scopes, $created_at, $revoked_at) ON CONFLICT DO NOTHING";
        public const string GetApiKey = "SELECT id, tenant_id, secret_hash, scopes, created_at, revoked_at FROM api_keys WHERE id = $id";
        public const string AnyApiKey = "SELECT 1 FROM api_keys LIMIT 1";
        public const string ListApiKeys = "SELECT id, tenant_id, secret_hash, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at, id";
        // An admin key (no tenant) is revoked only while another stays active, checked in the revoking write itself, so
        // that two admin keys revoking each other at once cannot leave none.
        public const string RevokeApiKey = """
            UPDATE api_keys SET revoked_at = $at WHERE id = $id AND tenant_id IS $tenant AND revoked_at IS NULL
              AND ($tenant IS NOT NULL OR EXISTS (SELECT 1 FROM api_keys WHERE tenant_id IS NULL AND revoked_at IS NULL AND id <> $id))
            """;

        // ON CONFLICT DO NOTHING without a target covers both the primary key and the det_key index.
        public const string InsertToken = "INSERT INTO tokens (" + Rows.TokenColumns + ") VALUES ($tenant, $token, $format, $alphabet, $classifier, $key_version, $ciphertext, $fingerprint, $det_key, $mask, $metadata, $created_at, $expires_at) ON CONFLICT DO NOTHING";
        public const string TokenExists = "SELECT 1 FROM tokens WHERE tenant_id = $tenant AND token = $token";
        public const string GetToken = "SELECT " + Rows.TokenColumns + " FROM tokens WHERE tenant_id = $tenant AND token = $token";
        public const string GetByDeterministicKey = "SELECT " + Rows.TokenColumns + " FROM tokens WHERE tenant_id = $tenant AND det_key = $det_key";
        public const string GetByFingerprint = "SELECT " + Rows.TokenColumns + " FROM tokens WHERE tenant_id = $tenant AND fingerprint = $fingerprint LIMIT $limit";
        public const string DeleteToken = "DELETE FROM tokens WHERE tenant_id = $tenant AND token = $token";
        public const string PurgeToken = "DELETE FROM tokens WHERE tenant_id = $tenant AND token = $token AND expires_at IS NOT NULL AND expires_at <= $now";
        public const string PurgeExpired = "DELETE FROM tokens WHERE rowid IN (SELECT rowid FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= $now LIMIT $limit)";
        public const string BelowKeyVersion = "SELECT " + Rows.TokenColumns + " FROM tokens WHERE tenant_id = $tenant AND key_version < $version AND ciphertext IS NOT NULL LIMIT $limit";
        public const string TenantsNeedingReencryption = "SELECT t.id FROM tenants t WHERE EXISTS (SELECT 1 FROM tokens k WHERE k.tenant_id = t.id AND k.key_version < t.current_key_version AND k.ciphertext IS NOT NULL) ORDER BY t.id";
        public const string UpdateCiphertext = "UPDATE tokens SET ciphertext = $ciphertext, key_version = $to WHERE tenant_id = $tenant AND token = $token AND key_version = $from AND ciphertext IS NOT NULL";
    }

    // ---- Tenants and keys

    /// <exception cref="VaultStoreConflictException">A tenant with this id exists.</exception>
    public Task CreateTenantAsync(TenantRecord tenant, IReadOnlyList<WrappedKeyRecord> keys, AuditEntry audit, CancellationToken cancellationToken)
    {
        ValidateTenant(tenant, keys);
        ValidateEntry(audit);
        return WriteAsync((tenant, keys, audit), static (w, s) =>
        {
            InsertTenant(w, s.tenant, s.keys);
            w.AppendAudit(s.audit);
            return true;
        }, keys.Count + 2, cancellationToken);
    }

    /// <exception cref="VaultStoreConflictException">The tenant or an API key exists.</exception>
    public Task BootstrapAsync(TenantRecord tenant, IReadOnlyList<WrappedKeyRecord> keys, IReadOnlyList<ApiKeyRecord> apiKeys, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ValidateTenant(tenant, keys);
        ArgumentNullException.ThrowIfNull(apiKeys);
        ArgumentNullException.ThrowIfNull(audit);
        foreach (var entry in audit)
        {
            ValidateEntry(entry);
        }

        return WriteAsync((tenant, keys, apiKeys, audit), static (w, s) =>
        {
            InsertTenant(w, s.tenant, s.keys);
            foreach (var key in s.apiKeys)
            {
                InsertApiKey(w, key);
            }

            foreach (var entry in s.audit)
            {
                w.AppendAudit(entry);
            }

            return true;
        }, keys.Count + apiKeys.Count + audit.Count + 1, cancellationToken);
    }

    public Task<bool> HasApiKeysAsync(CancellationToken cancellationToken)
        => ReadAsync(0, static (db, _) => db.Command(Sql.AnyApiKey).ExecuteScalar() is not null, cancellationToken);

    private static void ValidateTenant(TenantRecord tenant, IReadOnlyList<WrappedKeyRecord> keys)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            if (key.TenantId != tenant.Id)
            {
                throw new ArgumentException("Every wrapped key must belong to the new tenant.", nameof(keys));
            }
        }
    }

    private static void InsertTenant(SqliteWriter w, TenantRecord tenant, IReadOnlyList<WrappedKeyRecord> keys)
    {
        var insert = w.Db.Command(Sql.InsertTenant, "$id", "$name", "$version", "$created_at");
        insert.Parameters[0].Value = tenant.Id;
        insert.Parameters[1].Value = tenant.Name;
        insert.Parameters[2].Value = tenant.CurrentDataKeyVersion;
        insert.Parameters[3].Value = tenant.CreatedAt.ToUnixTimeMilliseconds();
        if (insert.ExecuteNonQuery() == 0)
        {
            throw new VaultStoreConflictException($"Tenant {tenant.Id} already exists.");
        }

        foreach (var key in keys)
        {
            InsertWrappedKey(w, key);
        }
    }

    public Task<TenantRecord?> GetTenantAsync(string tenantId, CancellationToken cancellationToken)
        => ReadAsync(tenantId, static (db, id) =>
        {
            var select = db.Command(Sql.GetTenant, "$id");
            select.Parameters[0].Value = id;
            using var r = select.ExecuteReader();
            return r.Read() ? new TenantRecord(r.GetString(0), r.GetString(1), r.GetInt32(2), Rows.Time(r.GetInt64(3))) : null;
        }, cancellationToken);

    public Task<IReadOnlyList<WrappedKeyRecord>> GetWrappedKeysAsync(string tenantId, CancellationToken cancellationToken)
        => ReadAsync(tenantId, static (db, id) =>
        {
            var select = db.Command(Sql.GetWrappedKeys, "$tenant");
            select.Parameters[0].Value = id;
            var keys = new List<WrappedKeyRecord>();
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                keys.Add(new WrappedKeyRecord(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetFieldValue<byte[]>(3), Rows.Time(r.GetInt64(4))));
            }

            return (IReadOnlyList<WrappedKeyRecord>)keys;
        }, cancellationToken);

    /// <remarks>Compare-and-set on the tenant's current version; the audit entry is appended only when it wins.</remarks>
    public Task<bool> AddDataKeyVersionAsync(WrappedKeyRecord key, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ValidateEntry(audit);
        return WriteAsync((key, audit), static (w, s) =>
        {
            var advance = w.Db.Command(Sql.AdvanceKeyVersion, "$id", "$version");
            advance.Parameters[0].Value = s.key.TenantId;
            advance.Parameters[1].Value = s.key.Version;
            if (advance.ExecuteNonQuery() == 0)
            {
                return false;
            }

            InsertWrappedKey(w, s.key);
            w.AppendAudit(s.audit);
            return true;
        }, 3, cancellationToken);
    }

    // ---- API keys

    /// <exception cref="VaultStoreConflictException">An API key with this id exists.</exception>
    public Task CreateApiKeyAsync(ApiKeyRecord key, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ValidateEntry(audit);
        return WriteAsync((key, audit), static (w, s) =>
        {
            InsertApiKey(w, s.key);
            w.AppendAudit(s.audit);
            return true;
        }, 2, cancellationToken);
    }

    private static void InsertApiKey(SqliteWriter w, ApiKeyRecord key)
    {
        var insert = w.Db.Command(Sql.InsertApiKey, "$id", "$tenant", "$hash", "$scopes", "$created_at", "$revoked_at");
        var p = insert.Parameters;
        p[0].Value = key.Id;
        p[1].Value = Rows.Nullable(key.TenantId);
        p[2].Value = key.SecretHash;
        p[3].Value = StorageJsonContext.Serialize(key.Scopes);
        p[4].Value = key.CreatedAt.ToUnixTimeMilliseconds();
        p[5].Value = key.RevokedAt is { } revoked ? revoked.ToUnixTimeMilliseconds() : DBNull.Value;
        if (insert.ExecuteNonQuery() == 0)
        {
            throw new VaultStoreConflictException($"API key {key.Id} already exists.");
        }
    }

    public Task<ApiKeyRecord?> GetApiKeyAsync(string keyId, CancellationToken cancellationToken)
        => ReadAsync(keyId, static (db, id) =>
        {
            var select = db.Command(Sql.GetApiKey, "$id");
            select.Parameters[0].Value = id;
            using var r = select.ExecuteReader();
            return r.Read() ? ReadApiKey(r) : null;
        }, cancellationToken);

    public Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancellationToken)
        => ReadAsync(0, static (db, _) =>
        {
            var keys = new List<ApiKeyRecord>();
            using var r = db.Command(Sql.ListApiKeys).ExecuteReader();
            while (r.Read())
            {
                keys.Add(ReadApiKey(r));
            }

            return (IReadOnlyList<ApiKeyRecord>)keys;
        }, cancellationToken);

    private static ApiKeyRecord ReadApiKey(Microsoft.Data.Sqlite.SqliteDataReader r)
        => new(
            r.GetString(0),
            Rows.OptionalString(r, 1),
            r.GetFieldValue<byte[]>(2),
            StorageJsonContext.Parse(r.GetString(3)),
            Rows.Time(r.GetInt64(4)),
            r.IsDBNull(5) ? null : Rows.Time(r.GetInt64(5)));

    /// <remarks>Matches the key's tenant exactly (a null <paramref name="tenantId"/> matches admin keys); never revokes the last active admin key.</remarks>
    public Task<bool> RevokeApiKeyAsync(string? tenantId, string keyId, DateTimeOffset at, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        ValidateEntry(audit);
        return WriteAsync((tenantId, keyId, at, audit), static (w, s) =>
        {
            var revoke = w.Db.Command(Sql.RevokeApiKey, "$at", "$id", "$tenant");
            revoke.Parameters[0].Value = s.at.ToUnixTimeMilliseconds();
            revoke.Parameters[1].Value = s.keyId;
            revoke.Parameters[2].Value = Rows.Nullable(s.tenantId);
            if (revoke.ExecuteNonQuery() == 0)
            {
                return false;
            }

            w.AppendAudit(s.audit);
            return true;
        }, 2, cancellationToken);
    }

    // ---- Tokens

    /// <remarks>
    /// A token not inserted is <see cref="InsertStatus.DeterministicExists"/> when its deterministic key is
    /// already used in the tenant (checked first: drawing another token string could not help), otherwise
    /// <see cref="InsertStatus.TokenTaken"/>. <paramref name="audit"/> runs once on the writer loop inside
    /// the transaction with the records inserted (possibly none); a non-null result is appended.
    /// </remarks>
    public Task<IReadOnlyList<InsertOutcome>> InsertTokensAsync(string tenantId, IReadOnlyList<TokenRecord> tokens, Func<IReadOnlyList<TokenRecord>, AuditEntry?> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenantId);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(audit);
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i]?.TenantId != tenantId)
            {
                throw new ArgumentException($"Token {i} does not belong to tenant {tenantId}.", nameof(tokens));
            }
        }

        if (tokens.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<InsertOutcome>>([]);
        }

        return WriteAsync((tenantId, tokens, audit), static (w, s) =>
        {
            RequireDataKeys(w, s.tenantId, s.tokens);
            var outcomes = new InsertOutcome[s.tokens.Count];
            var inserted = new List<TokenRecord>(s.tokens.Count);
            var insert = w.Db.Command(Sql.InsertToken, Rows.TokenParameters);
            for (var i = 0; i < s.tokens.Count; i++)
            {
                var token = s.tokens[i];
                Rows.BindToken(insert, token);
                if (insert.ExecuteNonQuery() == 1)
                {
                    outcomes[i] = InsertedOutcome;
                    inserted.Add(token);
                }
                else
                {
                    outcomes[i] = ExplainConflict(w, token);
                }
            }

            if (s.audit(inserted) is { } entry)
            {
                ValidateEntry(entry);
                w.AppendAudit(entry);
            }

            return (IReadOnlyList<InsertOutcome>)outcomes;
        }, tokens.Count + 1, cancellationToken);
    }

    public Task<TokenRecord?> GetTokenAsync(string tenantId, string token, CancellationToken cancellationToken)
        => ReadAsync((tenantId, token), static (db, s) =>
        {
            var select = db.Command(Sql.GetToken, "$tenant", "$token");
            select.Parameters[0].Value = s.tenantId;
            select.Parameters[1].Value = s.token;
            return Rows.ReadSingleToken(select);
        }, cancellationToken);

    public Task<bool> DeleteTokenAsync(string tenantId, string token, AuditEntry audit, CancellationToken cancellationToken)
    {
        ValidateEntry(audit);
        return WriteAsync((tenantId, token, audit), static (w, s) =>
        {
            var delete = w.Db.Command(Sql.DeleteToken, "$tenant", "$token");
            delete.Parameters[0].Value = s.tenantId;
            delete.Parameters[1].Value = s.token;
            if (delete.ExecuteNonQuery() == 0)
            {
                return false;
            }

            w.AppendAudit(s.audit);
            return true;
        }, 2, cancellationToken);
    }

    public Task<IReadOnlyList<TokenRecord>> FindByFingerprintAsync(string tenantId, byte[] fingerprint, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return ReadAsync((tenantId, fingerprint, limit), static (db, s) =>
        {
            var select = db.Command(Sql.GetByFingerprint, "$tenant", "$fingerprint", "$limit");
            select.Parameters[0].Value = s.tenantId;
            select.Parameters[1].Value = s.fingerprint;
            select.Parameters[2].Value = s.limit;
            return (IReadOnlyList<TokenRecord>)Rows.ReadTokens(select);
        }, cancellationToken);
    }

    public Task<TokenRecord?> FindDeterministicAsync(string tenantId, byte[] deterministicKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deterministicKey);
        return ReadAsync((tenantId, deterministicKey), static (db, s) =>
        {
            var select = db.Command(Sql.GetByDeterministicKey, "$tenant", "$det_key");
            select.Parameters[0].Value = s.tenantId;
            select.Parameters[1].Value = s.deterministicKey;
            return Rows.ReadSingleToken(select);
        }, cancellationToken);
    }

    /// <remarks>Deletes in transactions of 1,000 rows so other writers are not held up behind a large purge.</remarks>
    public Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
        => PurgeInBatchesAsync(Sql.PurgeExpired, now, cancellationToken);

    /// <summary>Runs <paramref name="sql"/> (parameters <c>$now</c>, <c>$limit</c>) in writes of <see cref="PurgeBatchSize"/> rows until fewer are deleted.</summary>
    private async Task<int> PurgeInBatchesAsync(string sql, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var state = (sql, nowMs: now.ToUnixTimeMilliseconds());
        var total = 0;
        while (true)
        {
            var deleted = await WriteAsync(state, static (w, s) =>
            {
                var delete = w.Db.Command(s.sql, "$now", "$limit");
                delete.Parameters[0].Value = s.nowMs;
                delete.Parameters[1].Value = PurgeBatchSize;
                return delete.ExecuteNonQuery();
            }, PurgeBatchSize, cancellationToken).ConfigureAwait(false);
            total += deleted;
            if (deleted < PurgeBatchSize)
            {
                return total;
            }
        }
    }

    /// <remarks>
    /// Deletes the token only if it has expired by the store's clock: this delete is not audited, so it
    /// must not be usable to remove a live token.
    /// </remarks>
    public Task PurgeTokenAsync(string tenantId, string token, CancellationToken cancellationToken)
        => WriteAsync((tenantId, token), static (w, s) =>
        {
            var delete = w.Db.Command(Sql.PurgeToken, "$tenant", "$token", "$now");
            delete.Parameters[0].Value = s.tenantId;
            delete.Parameters[1].Value = s.token;
            delete.Parameters[2].Value = w.Time.GetUtcNow().ToUnixTimeMilliseconds();
            return delete.ExecuteNonQuery();
        }, 1, cancellationToken);

    /// <remarks>Only tokens with a ciphertext: an fpe token is its own ciphertext and is not re-encrypted.</remarks>
    public Task<IReadOnlyList<TokenRecord>> GetTokensBelowKeyVersionAsync(string tenantId, int version, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return ReadAsync((tenantId, version, limit), static (db, s) =>
        {
            var select = db.Command(Sql.BelowKeyVersion, "$tenant", "$version", "$limit");
            select.Parameters[0].Value = s.tenantId;
            select.Parameters[1].Value = s.version;
            select.Parameters[2].Value = s.limit;
            return (IReadOnlyList<TokenRecord>)Rows.ReadTokens(select);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<string>> GetTenantsNeedingReencryptionAsync(CancellationToken cancellationToken)
        => ReadAsync(0, static (db, _) =>
        {
            var select = db.Command(Sql.TenantsNeedingReencryption);
            var tenants = new List<string>();
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                tenants.Add(r.GetString(0));
            }

            return (IReadOnlyList<string>)tenants;
        }, cancellationToken);

    /// <remarks>Each update is a compare-and-set on the row's key version; the audit entry is appended only if some row changed.</remarks>
    public Task<int> UpdateCiphertextsAsync(string tenantId, IReadOnlyList<CiphertextUpdate> updates, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(updates);
        ValidateEntry(audit);
        if (updates.Count == 0)
        {
            return Task.FromResult(0);
        }

        return WriteAsync((tenantId, updates, audit), static (w, s) =>
        {
            var update = w.Db.Command(Sql.UpdateCiphertext, "$ciphertext", "$to", "$tenant", "$token", "$from");
            var changed = 0;
            foreach (var u in s.updates)
            {
                update.Parameters[0].Value = u.Ciphertext;
                update.Parameters[1].Value = u.ToVersion;
                update.Parameters[2].Value = s.tenantId;
                update.Parameters[3].Value = u.Token;
                update.Parameters[4].Value = u.FromVersion;
                changed += update.ExecuteNonQuery();
            }

            if (changed > 0)
            {
                w.AppendAudit(s.audit);
            }

            return changed;
        }, updates.Count + 1, cancellationToken);
    }

    // ---- Audit

    public Task<long> AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ValidateEntry(entry);
        return WriteAsync(entry, static (w, e) => w.AppendAudit(e), 1, cancellationToken);
    }

    private static void InsertWrappedKey(SqliteWriter w, WrappedKeyRecord key)
    {
        var insert = w.Db.Command(Sql.InsertWrappedKey, "$tenant", "$purpose", "$version", "$blob", "$created_at");
        var p = insert.Parameters;
        p[0].Value = key.TenantId;
        p[1].Value = key.Purpose;
        p[2].Value = key.Version;
        p[3].Value = key.Blob;
        p[4].Value = key.CreatedAt.ToUnixTimeMilliseconds();
        insert.ExecuteNonQuery();
    }

    private static InsertOutcome ExplainConflict(SqliteWriter w, TokenRecord token)
    {
        if (token.DeterministicKey is not null)
        {
            var select = w.Db.Command(Sql.GetByDeterministicKey, "$tenant", "$det_key");
            select.Parameters[0].Value = token.TenantId;
            select.Parameters[1].Value = token.DeterministicKey;
            if (Rows.ReadSingleToken(select) is { } existing)
            {
                return new InsertOutcome(InsertStatus.DeterministicExists, existing);
            }
        }

        var exists = w.Db.Command(Sql.TokenExists, "$tenant", "$token");
        exists.Parameters[0].Value = token.TenantId;
        exists.Parameters[1].Value = token.Token;
        return exists.ExecuteScalar() is not null
            ? TokenTakenOutcome
            : throw new InvalidOperationException("An insert was refused without a conflicting row.");
    }
}
