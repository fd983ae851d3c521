using System.Diagnostics.CodeAnalysis;
using Cloister.Attestation.Policy;

namespace Cloister.Attestation.Results;

/// <summary>A signed attestation result whose signature, times and claims checked out.</summary>
/// <param name="Result">The verdict, claims and checks as the verifier reported them.</param>
/// <param name="Appraisal">The policy the evidence was appraised under (its id as the issuer names it and its digest) and the verification time.</param>
/// <param name="IssuedAt">"iat".</param>
/// <param name="ExpiresAt">"exp", when the issuer set one.</param>
/// <param name="KeyId">The kid of the key that signed it.</param>
/// <param name="Algorithm">"ES256" or "ES384".</param>
/// <param name="PayloadJson">The signed claim set as JSON, for claims this type does not model.</param>
public sealed record VerifiedAttestationResult(
    AttestationResult Result,
    AppraisalContext Appraisal,
    DateTimeOffset IssuedAt,
    DateTimeOffset? ExpiresAt,
    string KeyId,
    string Algorithm,
    string PayloadJson)
{
    /// <summary>"policyId": the issuer's name for the policy. The server names a policy its caller supplied "caller:" + its id.</summary>
    public string PolicyId => Appraisal.PolicyId;

    /// <summary>"policyDigest": <see cref="AppraisalPolicyJson.Digest"/> of the policy the evidence was appraised under.</summary>
    public string PolicyDigest => Appraisal.PolicyDigest;

    /// <summary>"verifiedAt": the time the evidence was judged at (which an API caller may choose), not the signing time.</summary>
    public DateTimeOffset VerifiedAt => Appraisal.VerifiedAt;

    /// <summary>Whether the evidence was appraised under exactly <paramref name="policy"/>: same canonical encoding, whatever the id says.</summary>
    public bool WasAppraisedUnder(AppraisalPolicy policy) => string.Equals(PolicyDigest, AppraisalPolicyJson.Digest(policy), StringComparison.Ordinal);
}

/// <summary>The outcome of validating a signed attestation result: valid with the result, or invalid with a reason.</summary>
public sealed record AttestationResultValidation
{
    private AttestationResultValidation(VerifiedAttestationResult? token, string? error)
    {
        Token = token;
        Error = error;
    }

    /// <summary>Whether the token is authentic, current and well-formed. Says nothing about the verdict inside.</summary>
    [MemberNotNullWhen(true, nameof(Token))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsValid => Token is not null;

    /// <summary>The verified result, when valid.</summary>
    public VerifiedAttestationResult? Token { get; }

    /// <summary>Why the token was refused, when invalid.</summary>
    public string? Error { get; }

    internal static AttestationResultValidation Valid(VerifiedAttestationResult token) => new(token, null);

    internal static AttestationResultValidation Invalid(string error) => new(null, error);
}

/// <summary>
/// Checks a signed attestation result for a relying party: the kid names a key of the trusted key set, the alg is that
/// key's (ES256 or ES384; never "none", never chosen by the token), the signature verifies, "iat" is not in the future
/// and "exp" (if present) has not passed, "verifiedAt" is not after "iat", give or take the clock skew, and the claims
/// are a consistent EAR claim set.
/// Never throws for a bad token.
/// </summary>
/// <remarks>A valid token can still carry a contraindicated verdict: look at <c>Token.Result.Verdict</c>.</remarks>
public sealed class AttestationResultValidator
{
    private readonly List<AttestationJwk> _keys;
    private readonly TimeSpan _clockSkew;

    /// <summary>Trusts <paramref name="keys"/> (kids must be unique).</summary>
    /// <param name="keys">The issuer's keys.</param>
    /// <param name="clockSkew">Tolerance on iat/exp; default 60 seconds.</param>
    public AttestationResultValidator(IEnumerable<AttestationJwk> keys, TimeSpan? clockSkew = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = [.. keys];
        if (_keys.Select(k => k.Kid).Distinct(StringComparer.Ordinal).Count() != _keys.Count)
        {
            throw new ArgumentException("two keys with the same kid", nameof(keys));
        }

        _clockSkew = clockSkew ?? TimeSpan.FromSeconds(60);
        if (_clockSkew < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(clockSkew), "clock skew must not be negative");
        }
    }

    /// <summary>Builds a validator from a JWKS document; a bad document is an error value.</summary>
    public static bool TryCreate(string jwksJson, [NotNullWhen(true)] out AttestationResultValidator? validator, [NotNullWhen(false)] out string? error, TimeSpan? clockSkew = null)
    {
        validator = null;
        if (!AttestationJwks.TryParse(jwksJson, out var keys, out error))
        {
            return false;
        }

        validator = new AttestationResultValidator(keys, clockSkew);
        return true;
    }

    /// <summary>Validates <paramref name="token"/> at time <paramref name="now"/>.</summary>
    /// <remarks>Asynchronous because the JWT library's validation is; with a fixed key set it completes without waiting.</remarks>
    public async Task<AttestationResultValidation> ValidateAsync(string? token, DateTimeOffset now)
    {
        var (payload, key, error) = await JoseJws.VerifyAsync(token, _keys).ConfigureAwait(false);
        if (payload is null || key is null)
        {
            return AttestationResultValidation.Invalid(error ?? "jws: invalid");
        }

        if (!EarClaimSet.TryRead(payload, out var result, out var appraisal, out var issuedAt, out var expiresAt, out error))
        {
            return AttestationResultValidation.Invalid(error);
        }

        if (issuedAt - now > _clockSkew)
        {
            return AttestationResultValidation.Invalid($"claims: issued in the future ({issuedAt:O})");
        }

        // An appraisal is made before it is signed: a verification time after the signing time is a forged or broken claim set.
        if (appraisal.VerifiedAt - issuedAt > _clockSkew)
        {
            return AttestationResultValidation.Invalid($"claims: verified after it was issued ({appraisal.VerifiedAt:O} > {issuedAt:O})");
        }

        // Differences, not sums: DateTimeOffset arithmetic near its limits throws, a TimeSpan difference does not.
        if (expiresAt is { } exp && now - exp >= _clockSkew)
        {
            return AttestationResultValidation.Invalid($"claims: expired at {exp:O}");
        }

        return AttestationResultValidation.Valid(new VerifiedAttestationResult(
            result, appraisal, issuedAt, expiresAt, key.Kid, key.Alg, System.Text.Encoding.UTF8.GetString(payload)));
    }
}
