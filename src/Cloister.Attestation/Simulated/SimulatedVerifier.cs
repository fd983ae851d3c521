using System.Security.Cryptography;
using Cloister.Attestation.Policy;

namespace Cloister.Attestation.Simulated;

/// <summary>
/// Verifies simulated evidence (format in <see cref="SimulatedAttester"/>) signed by one trusted attester key.
/// </summary>
/// <remarks>
/// <para>
/// Checks, in order: "simulated-allowed" (the policy lists simulated in allowedTees; otherwise contraindicated, whatever
/// else holds), "evidence-format", "signature", "evidence-payload", "debug", "measurement" (against the policy's
/// measurements, when pinned), "registers" (simulated evidence has none, so a policy pinning registers fails),
/// "report-data", "nonce" (when the policy expects them) and "freshness" (not more than 60 s in the future; not older
/// than the policy's maximum age, when set). Claims always carry extra "simulated" = "true".
/// </para>
/// <para>The attester key is copied at construction; the caller keeps ownership of the <see cref="ECDsa"/> passed in.
/// Thread-safe.</para>
/// </remarks>
public sealed class SimulatedVerifier : IEvidenceVerifier
{
    /// <summary>How far in the future evidence may be dated (clock differences between attester and verifier).</summary>
    public static readonly TimeSpan FutureTolerance = TimeSpan.FromSeconds(60);

    private readonly ECParameters _attesterKey;

    /// <summary>Trusts evidence signed by <paramref name="attesterKey"/> (a P-256 key; only its public half is used).</summary>
    public SimulatedVerifier(ECDsa attesterKey)
    {
        ArgumentNullException.ThrowIfNull(attesterKey);
        _attesterKey = attesterKey.ExportParameters(includePrivateParameters: false);
        if (_attesterKey.Curve.Oid?.Value != "1.2.840.10045.3.1.7")
        {
            throw new ArgumentException("simulated evidence is signed with a P-256 key", nameof(attesterKey));
        }
    }

    /// <inheritdoc />
    public TeeType Type => TeeType.Simulated;

    /// <inheritdoc />
    public AttestationResult Verify(EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentNullException.ThrowIfNull(policy);
        var checks = new List<Check>
        {
            policy.AllowedTees.Contains(TeeType.Simulated)
                ? Check.Pass("simulated-allowed", $"simulated-allowed: policy \"{policy.Id}\" allows simulated evidence")
                : Check.Fail("simulated-allowed", $"simulated-allowed: policy \"{policy.Id}\" does not allow simulated evidence"),
        };
        var bare = new AttestationClaims { Tee = TeeType.Simulated, Extra = new Dictionary<string, string>(StringComparer.Ordinal) { ["simulated"] = "true" } };

        if (evidence.Type != TeeType.Simulated)
        {
            checks.Add(Check.Fail("evidence-format", $"evidence-format: {TeeNames.ToName(evidence.Type)} evidence given to the simulated verifier"));
            return AttestationResult.From(bare, checks);
        }

        var bytes = evidence.Bytes ?? [];
        if (!SimulatedEvidenceFormat.TryFrame(bytes, out var payloadLength, out var formatError))
        {
            checks.Add(Check.Fail("evidence-format", formatError));
            return AttestationResult.From(bare, checks);
        }

        checks.Add(Check.Pass("evidence-format", "evidence-format: CLOISTER-SIMULATED-EVIDENCE-V1"));
        if (!SimulatedEvidenceFormat.VerifySignature(bytes, payloadLength, _attesterKey))
        {
            checks.Add(Check.Fail("signature", "signature: not signed by the trusted simulated attester key"));
            return AttestationResult.From(bare, checks);
        }

        checks.Add(Check.Pass("signature", "signature: simulated attester key"));
        var payload = bytes.AsSpan(SimulatedEvidenceFormat.HeaderBytes, payloadLength);
        if (!SimulatedEvidenceFormat.TryParsePayload(payload, out var content, out var payloadError))
        {
            checks.Add(Check.Fail("evidence-payload", payloadError));
            return AttestationResult.From(bare, checks);
        }

        checks.Add(Check.Pass("evidence-payload"));
        checks.Add(content.Debug && !policy.AllowDebug
            ? Check.Fail("debug", "debug: the simulated environment claims debug mode")
            : Check.Pass("debug", content.Debug ? "debug: allowed by policy" : null));

        if (policy.Measurements.Count == 0)
        {
            checks.Add(Check.NotEvaluated("measurement", "measurement: not pinned by the policy"));
        }
        else
        {
            checks.Add(policy.Measurements.Contains(content.Measurement, StringComparer.Ordinal)
                ? Check.Pass("measurement")
                : Check.Fail("measurement", $"measurement: {content.Measurement} is not one the policy accepts"));
        }

        if (policy.ExpectedRegisters.Count > 0)
        {
            checks.Add(Check.Fail("registers", "registers: the policy pins registers and simulated evidence has none"));
        }

        checks.Add(ExpectedHex("report-data", "report data", policy.ExpectedReportData, content.ReportData));
        checks.Add(ExpectedHex("nonce", "nonce", policy.ExpectedNonce, content.Nonce));
        checks.Add(Freshness(content.IssuedAt, policy.MaxAge, at));

        var claims = bare with
        {
            Measurement = content.Measurement,
            Debug = content.Debug,
            ReportData = content.ReportData,
            Nonce = content.Nonce,
            IssuedAt = content.IssuedAt,
        };
        return AttestationResult.From(claims, checks);
    }

    private static Check ExpectedHex(string name, string what, string? expected, string? actual)
    {
        if (expected is null)
        {
            return Check.NotEvaluated(name, $"{name}: the policy expects no {what}");
        }

        return string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase)
            ? Check.Pass(name)
            : Check.Fail(name, actual is null ? $"{name}: the evidence binds no {what}" : $"{name}: {what} does not match the expected value");
    }

    private static Check Freshness(DateTimeOffset issuedAt, TimeSpan? maxAge, DateTimeOffset at)
    {
        var age = at - issuedAt;
        if (-age > FutureTolerance)
        {
            return Check.Fail("freshness", $"freshness: issued in the future ({SimulatedEvidenceFormat.Describe(issuedAt)})");
        }

        if (maxAge is null)
        {
            return Check.NotEvaluated("freshness", "freshness: the policy sets no maximum age");
        }

        return age > maxAge.Value
            ? Check.Fail("freshness", $"freshness: issued {SimulatedEvidenceFormat.Describe(issuedAt)}, older than {maxAge.Value.TotalSeconds:0} s")
            : Check.Pass("freshness");
    }
}
