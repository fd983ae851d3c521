using System.Security.Cryptography;

namespace Cloister.Attestation.Results;

/// <summary>
/// Issues signed attestation results: a compact JWS (ES256 for a P-256 key, ES384 for a P-384 key) whose payload is
/// an EAR claim set with Cloister's normalized claims (tee, measurement, debug, tcb, tcbStatus, advisoryIds,
/// reportData, nonce, evidenceTime, policyId, policyDigest, verifiedAt, verdict, checks). Relying parties check it with <see cref="AttestationResultValidator"/>
/// and the key set from <see cref="ExportJwks"/>.
/// </summary>
/// <remarks>
/// The signer does not own <paramref name="key"/>: the caller keeps it alive while the signer is used and disposes
/// it afterwards. Signing is serialized on the key, so one signer may be shared between threads.
/// </remarks>
/// <param name="key">The private signing key, on P-256 or P-384.</param>
/// <param name="verifierBuild">Reported as "ear.verifier-id".build.</param>
/// <param name="keyId">The kid; by default the RFC 7638 thumbprint of the public key.</param>
public sealed class AttestationResultSigner(ECDsa key, string verifierBuild = AttestationResultSigner.DefaultBuild, string? keyId = null)
{
    /// <summary>The default "ear.verifier-id".build.</summary>
    public const string DefaultBuild = "cloister-attestation/1";

    private readonly ECDsa _key = key ?? throw new ArgumentNullException(nameof(key));
    private readonly Lock _signLock = new();

    /// <summary>The public key as a JWK (kid, alg, curve).</summary>
    public AttestationJwk PublicKey { get; } = AttestationJwk.FromKey(key, keyId);

    /// <summary>"ES256" or "ES384".</summary>
    public string Algorithm => PublicKey.Alg;

    /// <summary>The key id placed in every token header.</summary>
    public string KeyId => PublicKey.Kid;

    /// <summary>The "ear.verifier-id".build value.</summary>
    public string VerifierBuild { get; } = string.IsNullOrEmpty(verifierBuild) ? throw new ArgumentException("empty verifier build", nameof(verifierBuild)) : verifierBuild;

    /// <summary>The JWKS document relying parties fetch: <c>{"keys":[PublicKey]}</c>.</summary>
    public string ExportJwks() => AttestationJwks.ToJson([PublicKey]);

    /// <summary>Signs <paramref name="result"/>, appraised as <paramref name="appraisal"/> says.</summary>
    /// <param name="result">The appraisal.</param>
    /// <param name="appraisal">The policy's id and digest and the verification time (<see cref="AppraisalContext.Of"/>).</param>
    /// <param name="issuedAt">"iat" (whole seconds).</param>
    /// <param name="validFor">When given, "exp" = iat + this.</param>
    public string Sign(AttestationResult result, AppraisalContext appraisal, DateTimeOffset issuedAt, TimeSpan? validFor = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(appraisal);
        if (!AppraisalContext.IsDigest(appraisal.PolicyDigest))
        {
            throw new ArgumentException("the policy digest is not sha-256:<64 hex digits>", nameof(appraisal));
        }

        if (validFor is { } lifetime && lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(validFor), "a result must be valid for a positive time");
        }

        var payload = EarClaimSet.Write(result, appraisal, VerifierBuild, issuedAt, issuedAt + validFor);
        lock (_signLock)
        {
            return JoseJws.Sign(payload, _key, Algorithm, KeyId);
        }
    }
}
