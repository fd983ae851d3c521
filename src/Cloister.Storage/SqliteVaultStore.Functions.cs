using Microsoft.Data.Sqlite;

namespace Cloister.Storage;

/// <summary>Functions, their versions and invocations.</summary>
public sealed partial class SqliteVaultStore
{
    private static class FunctionSql
    {
        public const string VersionColumns = "tenant_id, name, version, measurement, runtime, manifest, created_at";
        public const string Latest = "SELECT " + VersionColumns + " FROM function_versions WHERE tenant_id = $tenant AND name = $name ORDER BY version DESC LIMIT 1";
        public const string ByVersion = "SELECT " + VersionColumns + " FROM function_versions WHERE tenant_id = $tenant AND name = $name AND version = $version";
        public const string AllVersions = "SELECT " + VersionColumns + " FROM function_versions WHERE tenant_id = $tenant AND name = $name ORDER BY version";
        public const string Bundle = "SELECT bundle FROM function_versions WHERE tenant_id = $tenant AND name = $name AND version = $version";
        public const string InsertFunction = "INSERT INTO functions (tenant_id, name, created_at) VALUES ($tenant, $name, $created_at) ON CONFLICT DO NOTHING";
        public const string InsertVersion = "INSERT INTO function_versions (tenant_id, name, version, measurement, runtime, manifest, bundle, created_at) VALUES ($tenant, $name, $version, $measurement, $runtime, $manifest, $bundle, $created_at)";

        // The latest version of each function: the row whose version is the function's maximum.
        public const string List = "SELECT v.name, v.version, v.measurement, v.runtime, v.created_at FROM function_versions v "
            + "WHERE v.tenant_id = $tenant AND v.version = (SELECT MAX(version) FROM function_versions m WHERE m.tenant_id = v.tenant_id AND m.name = v.name) ORDER BY v.name";

        public const string Measurements = "SELECT measurement FROM function_versions WHERE tenant_id = $tenant AND name = $name ORDER BY version";
        public const string TenantMeasurements = "SELECT measurement FROM function_versions WHERE tenant_id = $tenant ORDER BY name, version";
        public const string DeleteVersions = "DELETE FROM function_versions WHERE tenant_id = $tenant AND name = $name";
        public const string DeleteFunction = "DELETE FROM functions WHERE tenant_id = $tenant AND name = $name";

        public const string InvocationColumns = "id, tenant_id, function_name, version, measurement, status, error_code, error_detail, outcome_key_version, outcome, sealed_result, warm, duration_ms, created_at, completed_at, expires_at";
        public const string InsertInvocation = "INSERT INTO invocations (id, tenant_id, function_name, version, measurement, status, warm, created_at, expires_at) VALUES ($id, $tenant, $name, $version, $measurement, 'running', 0, $created_at, $expires_at)";
        public const string GetInvocation = "SELECT " + InvocationColumns + " FROM invocations WHERE tenant_id = $tenant AND id = $id AND expires_at > $now";

        // length() of a blob reads its size from the record header, not the blob's pages.
        public const string GetInvocationOutcomeLength = "SELECT coalesce(length(outcome), 0) + coalesce(length(sealed_result), 0) FROM invocations WHERE tenant_id = $tenant AND id = $id AND expires_at > $now";
        public const string CompleteInvocation = "UPDATE invocations SET status = $status, error_code = $error_code, error_detail = $error_detail, outcome_key_version = $outcome_key_version, outcome = $outcome, sealed_result = $sealed_result, "
            + "warm = $warm, duration_ms = $duration_ms, completed_at = $completed_at WHERE tenant_id = $tenant AND id = $id AND status = 'running'";

        public const string Running = "SELECT id, tenant_id, function_name, version, measurement, created_at FROM invocations WHERE status = 'running'";
        public const string FailRunning = "UPDATE invocations SET status = 'failed', error_code = $code, error_detail = $detail, completed_at = $at, duration_ms = $at - created_at WHERE id = $id AND status = 'running'";
        public const string PurgeInvocations = "DELETE FROM invocations WHERE rowid IN (SELECT rowid FROM invocations WHERE expires_at <= $now LIMIT $limit)";
    }

    /// <remarks>The check for an unchanged latest version and the insert run in one transaction, so concurrent deploys number versions without gaps or duplicates.</remarks>
    public Task<DeployOutcome> DeployFunctionAsync(FunctionVersionRecord candidate, byte[] bundleTarGz, Func<FunctionVersionRecord, AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(bundleTarGz);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync((candidate, bundleTarGz, audit), static (w, s) =>
        {
            var latest = w.Db.Command(FunctionSql.Latest, "$tenant", "$name");
            latest.Parameters[0].Value = s.candidate.TenantId;
            latest.Parameters[1].Value = s.candidate.Name;
            var current = ReadSingleVersion(latest);
            if (current is not null && current.Measurement == s.candidate.Measurement)
            {
                return new DeployOutcome(current, false);
            }

            var created = s.candidate with { Version = (current?.Version ?? 0) + 1 };
            var function = w.Db.Command(FunctionSql.InsertFunction, "$tenant", "$name", "$created_at");
            function.Parameters[0].Value = created.TenantId;
            function.Parameters[1].Value = created.Name;
            function.Parameters[2].Value = created.CreatedAt.ToUnixTimeMilliseconds();
            function.ExecuteNonQuery();

            var insert = w.Db.Command(FunctionSql.InsertVersion, "$tenant", "$name", "$version", "$measurement", "$runtime", "$manifest", "$bundle", "$created_at");
            var p = insert.Parameters;
            p[0].Value = created.TenantId;
            p[1].Value = created.Name;
            p[2].Value = created.Version;
            p[3].Value = created.Measurement;
            p[4].Value = created.Runtime;
            p[5].Value = created.ManifestJson;
            p[6].Value = s.bundleTarGz;
            p[7].Value = created.CreatedAt.ToUnixTimeMilliseconds();
            insert.ExecuteNonQuery();

            var entry = s.audit(created);
            ValidateEntry(entry);
            w.AppendAudit(entry);
            return new DeployOutcome(created, true);
        }, 2, cancellationToken);
    }

    public Task<IReadOnlyList<FunctionSummary>> ListFunctionsAsync(string tenantId, CancellationToken cancellationToken)
        => ReadAsync(tenantId, static (db, tenant) =>
        {
            var select = db.Command(FunctionSql.List, "$tenant");
            select.Parameters[0].Value = tenant;
            var functions = new List<FunctionSummary>();
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                functions.Add(new FunctionSummary(r.GetString(0), r.GetInt32(1), r.GetString(2), r.GetString(3), Rows.Time(r.GetInt64(4))));
            }

            return (IReadOnlyList<FunctionSummary>)functions;
        }, cancellationToken);

    public Task<IReadOnlyList<FunctionVersionRecord>> GetFunctionVersionsAsync(string tenantId, string name, CancellationToken cancellationToken)
        => ReadAsync((tenantId, name), static (db, s) =>
        {
            var select = db.Command(FunctionSql.AllVersions, "$tenant", "$name");
            select.Parameters[0].Value = s.tenantId;
            select.Parameters[1].Value = s.name;
            var versions = new List<FunctionVersionRecord>();
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                versions.Add(ReadVersion(r));
            }

            return (IReadOnlyList<FunctionVersionRecord>)versions;
        }, cancellationToken);

    public Task<IReadOnlyList<string>> ListFunctionMeasurementsAsync(string tenantId, CancellationToken cancellationToken)
        => ReadAsync(tenantId, static (db, tenant) =>
        {
            var select = db.Command(FunctionSql.TenantMeasurements, "$tenant");
            select.Parameters[0].Value = tenant;
            var measurements = new List<string>();
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                measurements.Add(r.GetString(0));
            }

            return (IReadOnlyList<string>)measurements;
        }, cancellationToken);

    public Task<FunctionVersionRecord?> GetFunctionVersionAsync(string tenantId, string name, int? version, CancellationToken cancellationToken)
        => ReadAsync((tenantId, name, version), static (db, s) =>
        {
            SqliteCommand select;
            if (s.version is { } v)
            {
                select = db.Command(FunctionSql.ByVersion, "$tenant", "$name", "$version");
                select.Parameters[2].Value = v;
            }
            else
            {
                select = db.Command(FunctionSql.Latest, "$tenant", "$name");
            }

            select.Parameters[0].Value = s.tenantId;
            select.Parameters[1].Value = s.name;
            return ReadSingleVersion(select);
        }, cancellationToken);

    public Task<byte[]?> GetFunctionBundleAsync(string tenantId, string name, int version, CancellationToken cancellationToken)
        => ReadAsync((tenantId, name, version), static (db, s) =>
        {
            var select = db.Command(FunctionSql.Bundle, "$tenant", "$name", "$version");
            select.Parameters[0].Value = s.tenantId;
            select.Parameters[1].Value = s.name;
            select.Parameters[2].Value = s.version;
            using var r = select.ExecuteReader();
            return r.Read() ? r.GetFieldValue<byte[]>(0) : null;
        }, cancellationToken);

    public Task<IReadOnlyList<string>?> DeleteFunctionAsync(string tenantId, string name, AuditEntry audit, CancellationToken cancellationToken)
    {
        ValidateEntry(audit);
        return WriteAsync((tenantId, name, audit), static (w, s) =>
        {
            var select = w.Db.Command(FunctionSql.Measurements, "$tenant", "$name");
            select.Parameters[0].Value = s.tenantId;
            select.Parameters[1].Value = s.name;
            var measurements = new List<string>();
            using (var r = select.ExecuteReader())
            {
                while (r.Read())
                {
                    measurements.Add(r.GetString(0));
                }
            }

            if (measurements.Count == 0)
            {
                return null;
            }

            foreach (var sql in (ReadOnlySpan<string>)[FunctionSql.DeleteVersions, FunctionSql.DeleteFunction])
            {
                var delete = w.Db.Command(sql, "$tenant", "$name");
                delete.Parameters[0].Value = s.tenantId;
                delete.Parameters[1].Value = s.name;
                delete.ExecuteNonQuery();
            }

            w.AppendAudit(s.audit);
            return (IReadOnlyList<string>?)measurements;
        }, 2, cancellationToken);
    }

    /// <remarks>Only a running invocation is created: its outcome comes with <see cref="CompleteInvocationAsync"/>.</remarks>
    public Task CreateInvocationAsync(InvocationRecord invocation, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ValidateEntry(audit);
        if (invocation.Status != InvocationStatus.Running)
        {
            throw new ArgumentException("A new invocation is running.", nameof(invocation));
        }

        return WriteAsync((invocation, audit), static (w, s) =>
        {
            var i = s.invocation;
            var insert = w.Db.Command(FunctionSql.InsertInvocation, "$id", "$tenant", "$name", "$version", "$measurement", "$created_at", "$expires_at");
            var p = insert.Parameters;
            p[0].Value = i.Id;
            p[1].Value = i.TenantId;
            p[2].Value = i.FunctionName;
            p[3].Value = i.Version;
            p[4].Value = i.Measurement;
            p[5].Value = i.CreatedAt.ToUnixTimeMilliseconds();
            p[6].Value = i.ExpiresAt.ToUnixTimeMilliseconds();
            insert.ExecuteNonQuery();
            w.AppendAudit(s.audit);
            return true;
        }, 2, cancellationToken);
    }

    public Task<bool> CompleteInvocationAsync(string tenantId, string invocationId, InvocationCompletion completion, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completion);
        ValidateEntry(audit);
        if (!completion.IsWellFormed)
        {
            throw new ArgumentException("A completion holds exactly one of an outcome with its key version, a sealed result, and an error code with the router's detail.", nameof(completion));
        }

        return WriteAsync((tenantId, invocationId, completion, audit), static (w, s) =>
        {
            var c = s.completion;
            var update = w.Db.Command(
                FunctionSql.CompleteInvocation,
                "$status", "$error_code", "$error_detail", "$outcome_key_version", "$outcome", "$sealed_result", "$warm", "$duration_ms", "$completed_at", "$tenant", "$id");
            var p = update.Parameters;
            p[0].Value = StatusName(c.Status);
            p[1].Value = Rows.Nullable(c.ErrorCode);
            p[2].Value = Rows.Nullable(c.ErrorDetail);
            p[3].Value = Rows.Nullable(c.OutcomeKeyVersion);
            p[4].Value = Rows.Nullable(c.Outcome);
            p[5].Value = Rows.Nullable(c.SealedResult);
            p[6].Value = c.Warm ? 1 : 0;
            p[7].Value = c.DurationMs;
            p[8].Value = c.CompletedAt.ToUnixTimeMilliseconds();
            p[9].Value = s.tenantId;
            p[10].Value = s.invocationId;
            if (update.ExecuteNonQuery() == 0)
            {
                return false;
            }

            w.AppendAudit(s.audit);
            return true;
        }, 2, cancellationToken);
    }

    public Task<InvocationRecord?> GetInvocationAsync(string tenantId, string invocationId, DateTimeOffset now, CancellationToken cancellationToken)
        => ReadAsync((tenantId, invocationId, now), static (db, s) =>
        {
            var select = db.Command(FunctionSql.GetInvocation, "$tenant", "$id", "$now");
            select.Parameters[0].Value = s.tenantId;
            select.Parameters[1].Value = s.invocationId;
            select.Parameters[2].Value = s.now.ToUnixTimeMilliseconds();
            using var r = select.ExecuteReader();
            return r.Read() ? ReadInvocation(r) : null;
        }, cancellationToken);

    public Task<long?> GetInvocationOutcomeLengthAsync(string tenantId, string invocationId, DateTimeOffset now, CancellationToken cancellationToken)
        => ReadAsync((tenantId, invocationId, now), static (db, s) =>
        {
            var select = db.Command(FunctionSql.GetInvocationOutcomeLength, "$tenant", "$id", "$now");
            select.Parameters[0].Value = s.tenantId;
            select.Parameters[1].Value = s.invocationId;
            select.Parameters[2].Value = s.now.ToUnixTimeMilliseconds();
            using var r = select.ExecuteReader();
            return r.Read() ? r.GetInt64(0) : (long?)null;
        }, cancellationToken);

    public Task<int> FailRunningInvocationsAsync(string errorCode, string errorDetail, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(errorCode);
        ArgumentNullException.ThrowIfNull(errorDetail);
        return WriteAsync((errorCode, errorDetail, at), static (w, s) =>
        {
            var running = new List<(string Id, string Tenant, string Name, int Version, string Measurement)>();
            using (var r = w.Db.Command(FunctionSql.Running).ExecuteReader())
            {
                while (r.Read())
                {
                    running.Add((r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4)));
                }
            }

            var fail = w.Db.Command(FunctionSql.FailRunning, "$code", "$detail", "$at", "$id");
            foreach (var i in running)
            {
                fail.Parameters[0].Value = s.errorCode;
                fail.Parameters[1].Value = s.errorDetail;
                fail.Parameters[2].Value = s.at.ToUnixTimeMilliseconds();
                fail.Parameters[3].Value = i.Id;
                fail.ExecuteNonQuery();
                w.AppendAudit(new AuditEntry(i.Tenant, "system", "function.invoke.completed", [i.Id, i.Name], $"version={i.Version} measurement={i.Measurement} outcome={s.errorCode}"));
            }

            return running.Count;
        }, 16, cancellationToken);
    }

    /// <remarks>Deletes in transactions of 1,000 rows, like the token purge.</remarks>
    public Task<int> PurgeExpiredInvocationsAsync(DateTimeOffset now, CancellationToken cancellationToken)
        => PurgeInBatchesAsync(FunctionSql.PurgeInvocations, now, cancellationToken);

    private static FunctionVersionRecord ReadVersion(SqliteDataReader r)
        => new(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), Rows.Time(r.GetInt64(6)));

    private static FunctionVersionRecord? ReadSingleVersion(SqliteCommand command)
    {
        using var r = command.ExecuteReader();
        return r.Read() ? ReadVersion(r) : null;
    }

    private static InvocationRecord ReadInvocation(SqliteDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.GetString(2),
        r.GetInt32(3),
        r.GetString(4),
        ParseStatus(r.GetString(5)),
        Rows.OptionalString(r, 6),
        Rows.OptionalString(r, 7),
        r.IsDBNull(8) ? null : r.GetInt32(8),
        Rows.OptionalBytes(r, 9),
        Rows.OptionalBytes(r, 10),
        r.GetInt64(11) != 0,
        r.IsDBNull(12) ? null : r.GetInt64(12),
        Rows.Time(r.GetInt64(13)),
        r.IsDBNull(14) ? null : Rows.Time(r.GetInt64(14)),
        Rows.Time(r.GetInt64(15)));

    private static string StatusName(InvocationStatus status) => status switch
    {
        InvocationStatus.Running => "running",
        InvocationStatus.Succeeded => "succeeded",
        InvocationStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    private static InvocationStatus ParseStatus(string status) => status switch
    {
        "running" => InvocationStatus.Running,
        "succeeded" => InvocationStatus.Succeeded,
        "failed" => InvocationStatus.Failed,
        _ => throw new VaultStoreException($"An invocation row has an unknown status '{status}'."),
    };
}
