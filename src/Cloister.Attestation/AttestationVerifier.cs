using Cloister.Attestation.Policy;

namespace Cloister.Attestation;

/// <summary>
/// The entry point of the library: dispatches evidence to the verifier for its TEE type after checking that the
/// policy allows that type. Always returns a result, never throws for bad evidence.
/// </summary>
/// <remarks>
/// Checks added here: "tee-allowed" (the evidence type is in <see cref="AppraisalPolicy.AllowedTees"/>),
/// "tee-supported" (a verifier for that type was registered) and "internal" (the verifier threw or returned something
/// inconsistent: a bug, reported as contraindicated rather than thrown at the caller). Thread-safe when the verifiers are.
/// </remarks>
public sealed class AttestationVerifier
{
    private readonly Dictionary<TeeType, IEvidenceVerifier> _verifiers = [];

    /// <summary>Creates a facade over <paramref name="verifiers"/>; at most one verifier per TEE type.</summary>
    /// <exception cref="ArgumentException">Two verifiers claim the same TEE type.</exception>
    public AttestationVerifier(IEnumerable<IEvidenceVerifier> verifiers)
    {
        ArgumentNullException.ThrowIfNull(verifiers);
        foreach (var verifier in verifiers)
        {
            ArgumentNullException.ThrowIfNull(verifier, nameof(verifiers));
            if (!_verifiers.TryAdd(verifier.Type, verifier))
            {
                throw new ArgumentException($"two verifiers for {TeeNames.ToName(verifier.Type)}", nameof(verifiers));
            }
        }
    }

    /// <summary>The TEE types a verifier was registered for.</summary>
    public IReadOnlyCollection<TeeType> SupportedTypes => _verifiers.Keys;

    /// <summary>Appraises <paramref name="evidence"/> against <paramref name="policy"/> at time <paramref name="at"/>.</summary>
    public AttestationResult Verify(EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentNullException.ThrowIfNull(policy);
        var tee = evidence.Type;
        if (!Enum.IsDefined(tee))
        {
            return AttestationResult.Unreadable(tee, "tee-supported", $"tee-supported: unknown TEE type {(int)tee}");
        }

        var name = TeeNames.ToName(tee);
        if (!policy.AllowedTees.Contains(tee))
        {
            return AttestationResult.Unreadable(tee, "tee-allowed", $"tee-allowed: policy \"{policy.Id}\" does not allow {name} evidence");
        }

        if (!_verifiers.TryGetValue(tee, out var verifier))
        {
            return AttestationResult.Unreadable(tee, "tee-supported", $"tee-supported: no verifier for {name} evidence");
        }

        AttestationResult? result;
        try
        {
            result = verifier.Verify(evidence, policy, at);
        }
        catch (Exception e)
        {
            // Verifiers promise not to throw; one that does has a bug. The caller still gets a verdict, and the exception
            // type (not its message, which might quote evidence) says where to look.
            return AttestationResult.Unreadable(tee, "internal", $"internal: the {name} verifier failed ({e.GetType().Name})");
        }

        if (result is null || result.Claims is null || result.Checks is null || result.Checks.Count == 0 || result.Checks.Any(c => c is null))
        {
            return AttestationResult.Unreadable(tee, "internal", $"internal: the {name} verifier returned no checks");
        }

        if (result.Claims.Tee != tee)
        {
            return AttestationResult.Unreadable(tee, "internal", $"internal: the {name} verifier reported {result.Claims.Tee} claims");
        }

        // Verifiers that already judge the TEE type themselves keep their check; the others get one here.
        List<Check> checks = result.Checks.Any(c => c.Name is "tee-allowed" or "tee-type")
            ? [.. result.Checks]
            : [Check.Pass("tee-allowed", $"tee-allowed: {name}"), .. result.Checks];
        var worst = checks.Max(c => c.Impact);
        return new AttestationResult(worst > result.Verdict ? worst : result.Verdict, result.Claims, checks);
    }
}
