using System.Security.Cryptography;
using Cloister.Api.Contracts;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Protocol.Attestation;

namespace Cloister.Client.Sealed;

/// <summary>
/// The client's check of a worker's attestation against an <see cref="AttestationPolicyFile"/>, before anything is sealed
/// to it: the claims are canonical and carry the nonce just sent, the evidence verifies under the policy's appraisal and
/// binds SHA-512(claims) as its report data, the policy trusts the worker measurement, and the public key the server
/// names is the one in the claims. Any failure is an <see cref="AttestationRefusedException"/>.
/// </summary>
public static class AttestationCheck
{
    /// <summary>Verifies <paramref name="attestation"/>, the answer to <paramref name="nonce"/>, at time <paramref name="at"/>.</summary>
    /// <exception cref="AttestationRefusedException">A check failed.</exception>
    public static VerifiedWorker Verify(WorkerAttestationInfo attestation, ReadOnlySpan<byte> nonce, AttestationPolicyFile policy, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(attestation);
        ArgumentNullException.ThrowIfNull(policy);
        if (!TeeNames.TryParse(attestation.Tee, out var tee))
        {
            throw Refuse(RefusalReasons.Tee, "the attestation names an unknown TEE type.");
        }

        var claimsBytes = Base64(attestation.Claims, RefusalReasons.Claims, "the claims are not base64.");
        if (!WorkerClaims.TryParse(claimsBytes, out var claims, out var claimsError))
        {
            throw Refuse(RefusalReasons.Claims, $"the claims are not valid canonical claims ({claimsError}).");
        }

        var evidence = Base64(attestation.Evidence, RefusalReasons.Evidence, "the evidence is not base64.");
        var certificates = (attestation.Certificates ?? []).Select(c => Base64(c, RefusalReasons.Evidence, "a certificate is not base64.")).ToList();
        var reportData = Convert.ToHexStringLower(WorkerClaims.ReportData(claimsBytes));
        var appraisal = policy.Appraisal with { ExpectedReportData = reportData };
        var result = policy.CreateVerifier().Verify(new EvidenceBundle(tee, evidence, certificates), appraisal, at);
        if (!policy.Accepts(result.Verdict))
        {
            var failed = string.Join("; ", result.Checks.Where(c => !policy.Accepts(c.Impact)).Select(c => c.Reason ?? c.Name));
            throw Refuse(RefusalReasons.Evidence, $"the {attestation.Tee} evidence does not verify under policy \"{policy.Appraisal.Id}\" ({failed}).");
        }

        // The verifiers check the report data when the policy expects it; checked again here so that the binding of the
        // claims never depends on one verifier honouring ExpectedReportData.
        if (!string.Equals(result.Claims.ReportData, reportData, StringComparison.Ordinal))
        {
            throw Refuse(RefusalReasons.Evidence, "the evidence's report data is not SHA-512 of the claims.");
        }

        if (!CryptographicOperations.FixedTimeEquals(claims.Nonce, nonce))
        {
            throw Refuse(RefusalReasons.Nonce, "the attestation answers another nonce than the one just sent (a replayed attestation).");
        }

        if (policy.FindWorker(claims.WorkerMeasurement) is null)
        {
            throw Refuse(RefusalReasons.WorkerMeasurement, $"the policy trusts no worker with measurement {claims.WorkerMeasurement}.");
        }

        if (!string.Equals(attestation.PublicKey, Convert.ToHexStringLower(claims.PublicKey), StringComparison.Ordinal))
        {
            throw Refuse(RefusalReasons.PublicKey, "the server's public key is not the key in the attested claims (a swapped key).");
        }

        return new VerifiedWorker(attestation.Tee, claims.PublicKey, claims.WorkerMeasurement, claims.Functions);
    }

    /// <summary>
    /// The measurement to pin for <paramref name="function"/>: <paramref name="requested"/> or the policy's pins for the
    /// function, which must be among the measurements the worker attested. With several candidates, <paramref name="latest"/>
    /// (the router's latest version, if known) decides.
    /// </summary>
    /// <exception cref="AttestationRefusedException">No measurement to pin, or the worker does not serve it.</exception>
    public static string PinFunction(VerifiedWorker worker, AttestationPolicyFile policy, string function, string? requested, string? latest = null)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(policy);
        IReadOnlyList<string> candidates = requested is not null ? [requested]
            : policy.Functions.TryGetValue(function, out var pins) ? pins : [];
        if (candidates.Count == 0)
        {
            throw Refuse(RefusalReasons.FunctionMeasurement, $"no measurement to pin for '{function}': pass one, or add it to the policy's \"functions\".");
        }

        var served = candidates.Where(worker.Functions.Contains).ToList();
        if (served.Count == 0)
        {
            throw Refuse(RefusalReasons.FunctionMeasurement, $"the worker does not attest serving '{function}' with the pinned measurement.");
        }

        return served.Count > 1 && latest is not null && served.Contains(latest) ? latest : served[0];
    }

    private static byte[] Base64(string? text, string reason, string message)
    {
        try
        {
            return Convert.FromBase64String(text ?? "!");
        }
        catch (FormatException)
        {
            throw Refuse(reason, message);
        }
    }

    private static AttestationRefusedException Refuse(string reason, string message) => new(reason, "Attestation refused: " + message);
}
