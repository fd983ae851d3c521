using System.Security.Cryptography;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Protocol;
using Cloister.Protocol.Attestation;

namespace Cloister.KeyBroker;

/// <summary>What an attestation established: keys may be sealed to <paramref name="PublicKey"/> for the tenants <paramref name="Tenants"/>.</summary>
internal sealed record BrokerSession(byte[] PublicKey, string WorkerMeasurement, string Tee, Verdict Verdict, IReadOnlyList<string> Warnings, IReadOnlyList<string> Tenants);

/// <summary>
/// The challenge → attestation half of the exchange: issues single-use nonces, appraises evidence and claims
/// against the release policy, and keeps the resulting sessions.
/// </summary>
/// <remarks>
/// Checks of an attestation (names as reported in <see cref="BrokerError.FailedChecks"/> and the audit):
/// "claims" (canonical WorkerClaims), "nonce" (the request's nonce is the claims' nonce and an outstanding,
/// unexpired nonce this broker issued; it is consumed whatever the outcome), "tee" (a known TEE name), every
/// contraindicating check of the appraisal (e.g. "signature", "debug", "simulated-allowed", "tee-allowed"),
/// "report-data" (the evidence binds SHA-512 of the claims, hence their nonce and public key) and
/// "worker-measurement" (a policy worker rule covers the claims' measurement). A warning verdict passes and
/// its reasons are audited with each release.
/// </remarks>
internal sealed class AttestationGate(ReleasePolicySource policy, ReleaseAudit audit, KeyBrokerOptions options)
{
    private const int NonceBytes = 32;

    private readonly ExpiringMap<bool> _nonces = new(options.MaxOutstandingNonces, options.Time);
    private readonly ExpiringMap<BrokerSession> _sessions = new(options.MaxSessions, options.Time);

    public ChallengeResponse Challenge()
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var expiresAt = options.Time.GetUtcNow() + options.NonceLifetime;
        _nonces.Add(Convert.ToHexStringLower(nonce), true, expiresAt);
        return new ChallengeResponse(nonce, expiresAt);
    }

    public BrokerResponse Attest(AttestRequest request)
    {
        if (request.Nonce is null || request.Tee is null || request.Evidence is null || request.Claims is null
            || request.Certificates is null || request.Certificates.Any(c => c is null))
        {
            return Error(BrokerErrorCodes.BadRequest, "An attestation needs a nonce, a TEE name, evidence, certificates (may be empty) and claims.");
        }

        var failed = new List<string>();

        // Consumed before anything else is looked at, so a nonce serves exactly one attempt, good or bad.
        var nonceState = _nonces.Find(Convert.ToHexStringLower(request.Nonce), remove: true, out _);
        var parsed = WorkerClaims.TryParse(request.Claims, out var claims, out _);
        if (!parsed)
        {
            failed.Add("claims");
        }

        if (nonceState != ExpiringMap<bool>.Lookup.Live || (claims is not null && !CryptographicOperations.FixedTimeEquals(claims.Nonce, request.Nonce)))
        {
            failed.Add("nonce");
        }

        var current = policy.Current;
        var now = options.Time.GetUtcNow();
        AttestationResult? result = null;
        if (!TeeNames.TryParse(request.Tee, out var tee))
        {
            failed.Add("tee");
        }
        else
        {
            result = current.Verifier.Verify(new EvidenceBundle(tee, request.Evidence, request.Certificates), current.File.Appraisal, now);
            failed.AddRange(result.Checks.Where(c => c.Impact == Verdict.Contraindicated).Select(c => c.Name));
            if (result.Verdict == Verdict.Warning && !current.File.Accepts(Verdict.Warning))
            {
                // Only "affirming" passes unless the policy says "acceptWarnings": name the checks that made it a warning.
                failed.AddRange(result.Checks.Where(c => c.Impact == Verdict.Warning).Select(c => c.Name));
            }
            if (claims is not null
                && !string.Equals(result.Claims.ReportData, Convert.ToHexStringLower(WorkerClaims.ReportData(request.Claims)), StringComparison.OrdinalIgnoreCase))
            {
                failed.Add("report-data");
            }
        }

        var rule = claims is null ? null : current.File.FindWorker(claims.WorkerMeasurement);
        if (claims is not null && rule is null)
        {
            failed.Add("worker-measurement");
        }

        var teeName = TeeNames.TryParse(request.Tee, out _) ? request.Tee : null;
        var verdict = result is null ? null : VerdictName(result.Verdict);
        if (failed.Count > 0 || result is null || claims is null || rule is null)
        {
            var checks = failed.Distinct(StringComparer.Ordinal).ToList();
            audit.Write(new AuditEvent(AuditEvent.Refusal, "attest", null, claims?.WorkerMeasurement, teeName, verdict, checks, BrokerErrorCodes.AttestationRefused));
            return new BrokerErrorResponse(new BrokerError(BrokerErrorCodes.AttestationRefused, $"The attestation did not hold: {string.Join(", ", checks)}.") { FailedChecks = checks });
        }

        var warnings = result.Checks.Where(c => c.Impact == Verdict.Warning).Select(c => c.Reason ?? c.Name).ToList();
        var id = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var expiresAt = now + options.SessionLifetime;
        _sessions.Add(id, new BrokerSession(claims.PublicKey, claims.WorkerMeasurement, request.Tee, result.Verdict, warnings, rule.Tenants), expiresAt);
        return new AttestResponse(id, expiresAt);
    }

    /// <summary>The session's attested worker when it may receive <paramref name="tenantId"/>'s keys; otherwise the error to return, audited for <paramref name="operation"/>.</summary>
    public BrokerResponse? Authorize(string? sessionId, string tenantId, string operation, out BrokerSession? session)
    {
        session = null;
        if (string.IsNullOrEmpty(sessionId) || _sessions.Find(sessionId, remove: false, out var found) != ExpiringMap<BrokerSession>.Lookup.Live)
        {
            audit.Write(new AuditEvent(AuditEvent.Refusal, operation, tenantId, null, null, null, [], BrokerErrorCodes.AttestationRequired));
            return Error(BrokerErrorCodes.AttestationRequired, "No live attested session: attest (challenge, attest) and retry.");
        }

        // Both the rule the worker attested under and the policy now in force (it may have been tightened since) must allow the tenant.
        var now = policy.Current.File.FindWorker(found!.WorkerMeasurement);
        if (!new WorkerRule(found.WorkerMeasurement, found.Tenants).Allows(tenantId) || now is null || !now.Allows(tenantId))
        {
            audit.Write(new AuditEvent(AuditEvent.Refusal, operation, tenantId, found.WorkerMeasurement, found.Tee, VerdictName(found.Verdict), [], BrokerErrorCodes.TenantNotAllowed));
            return Error(BrokerErrorCodes.TenantNotAllowed, "The release policy does not give this tenant's keys to the attested worker measurement.");
        }

        session = found;
        return null;
    }

    public static string VerdictName(Verdict verdict) => verdict switch
    {
        Verdict.Affirming => "affirming",
        Verdict.Warning => "warning",
        _ => "contraindicated",
    };

    private static BrokerErrorResponse Error(string code, string detail) => new(new BrokerError(code, detail));
}
