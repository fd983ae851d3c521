using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Cloister.Attestation.Policy;

namespace Cloister.Attestation.Results;

/// <summary>
/// What a signed result was appraised under, bound into its claims: the policy's id as the issuer names it, the digest of
/// the policy's canonical encoding (<see cref="AppraisalPolicyJson.Digest"/>) and the verification time.
/// </summary>
/// <param name="PolicyId">"policyId" and the submod's "ear.appraisal-policy-id". An issuer may name a policy it did not
/// choose differently from the policy's own id (the server prefixes a caller's policy with "caller:").</param>
/// <param name="PolicyDigest">"policyDigest": <c>sha-256:</c> and 64 lower-case hex digits.</param>
/// <param name="VerifiedAt">"verifiedAt": the time certificates, collateral and freshness were judged at.</param>
public sealed record AppraisalContext(string PolicyId, string PolicyDigest, DateTimeOffset VerifiedAt)
{
    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    /// <summary>The context of an appraisal under <paramref name="policy"/>, named by its own id, at <paramref name="verifiedAt"/>.</summary>
    public static AppraisalContext Of(AppraisalPolicy policy, DateTimeOffset verifiedAt)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new AppraisalContext(policy.Id, AppraisalPolicyJson.Digest(policy), verifiedAt);
    }

    /// <summary>Whether <paramref name="digest"/> has the form of a policy digest.</summary>
    internal static bool IsDigest([NotNullWhen(true)] string? digest)
        => digest is { Length: 72 } && digest.StartsWith(AppraisalPolicyJson.DigestPrefix, StringComparison.Ordinal)
            && digest.AsSpan(AppraisalPolicyJson.DigestPrefix.Length).ContainsAnyExcept(LowerHex) is false;
}
