using System.Security.Cryptography;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Attestation.Results;
using Cloister.Server.Hosting;
using Cloister.Server.Observability;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Attestation;

/// <summary>The policy a request is appraised under, and how the signed result names it.</summary>
/// <param name="Policy">The appraisal policy.</param>
/// <param name="SignedId">The server's id for one of its own policies; "caller:" + the id for a caller's.</param>
/// <param name="Digest">The digest of the policy's canonical encoding.</param>
internal sealed record ResolvedPolicy(AppraisalPolicy Policy, string SignedId, string Digest);

/// <summary>
/// Verifies evidence for API callers and signs the outcome as an EAR-style JWS. The signing key
/// (ECDSA P-256, <c>attestation-signing.pem</c>, mode 0600) is created on first start; relying parties
/// fetch its public half from <c>GET /v1/attestation/jwks</c>.
/// </summary>
/// <remarks>
/// A signed result names the policy it was appraised under by the digest of the policy's canonical encoding, and by an id
/// that says whose policy it is: a server policy (today the default policy, "default") under its own id, a policy the
/// caller supplied as <see cref="CallerPolicyPrefix"/> + its id. A caller's policy whose id is a server policy's id is
/// refused unless its content is that policy's (then it is that policy), so no caller can borrow a server policy's name.
/// </remarks>
internal sealed class AttestationService : IDisposable
{
    public const string SigningKeyFile = "attestation-signing.pem";

    /// <summary>What the signed id of a caller-supplied policy starts with.</summary>
    public const string CallerPolicyPrefix = "caller:";

    private static readonly AppraisalPolicy DefaultPolicy = new();

    // The server's own policies by id. The ids never start with CallerPolicyPrefix.
    private static readonly Dictionary<string, ResolvedPolicy> ServerPolicies = new(StringComparer.Ordinal)
    {
        [DefaultPolicy.Id] = new ResolvedPolicy(DefaultPolicy, DefaultPolicy.Id, AppraisalPolicyJson.Digest(DefaultPolicy)),
    };

    private readonly ECDsa _key;
    private readonly AttestationResultSigner _signer;
    private readonly AttestationVerifier _verifier;
    private readonly RouterMetrics _metrics;

    public AttestationService(IOptions<ServerOptions> options, RouterMetrics metrics)
    {
        _metrics = metrics;
        _key = LoadOrCreateKey(Path.Combine(options.Value.DataDirectory, SigningKeyFile));
        _signer = new AttestationResultSigner(_key);
        _verifier = AttestationVerifiers.CreateDefault();
    }

    public string Jwks => _signer.ExportJwks();

    /// <summary>
    /// The server's default policy when <paramref name="callerPolicy"/> is null; otherwise the caller's, or null when its id
    /// is a server policy's and its content is not that policy's.
    /// </summary>
    public static ResolvedPolicy? Resolve(AppraisalPolicy? callerPolicy)
    {
        if (callerPolicy is null)
        {
            return ServerPolicies[DefaultPolicy.Id];
        }

        var digest = AppraisalPolicyJson.Digest(callerPolicy);
        if (ServerPolicies.TryGetValue(callerPolicy.Id, out var server))
        {
            return server.Digest == digest ? server : null;
        }

        return new ResolvedPolicy(callerPolicy, CallerPolicyPrefix + callerPolicy.Id, digest);
    }

    public (AttestationResult Result, string Token) Verify(EvidenceBundle evidence, ResolvedPolicy policy, DateTimeOffset at, DateTimeOffset now)
    {
        var result = _verifier.Verify(evidence, policy.Policy, at);
        _metrics.Appraised(TeeNames.ToName(evidence.Type), NameOf(result.Verdict));
        return (result, _signer.Sign(result, new AppraisalContext(policy.SignedId, policy.Digest, at), now, TimeSpan.FromHours(1)));
    }

    public static string NameOf(Verdict verdict) => verdict.ToString().ToLowerInvariant();

    public static ClaimsDto ToDto(AttestationClaims c) => new(
        TeeNames.ToName(c.Tee), c.Measurement, c.Debug, c.Tcb, c.TcbStatus, c.AdvisoryIds, c.ReportData, c.Nonce, c.IssuedAt, c.Extra);

    public static CheckDto ToDto(Check c) => new(c.Name, c.Status switch
    {
        CheckStatus.Pass => "pass",
        CheckStatus.Fail => "fail",
        _ => "not-evaluated",
    }, c.Reason, NameOf(c.Impact));

    private static ECDsa LoadOrCreateKey(string path)
    {
        var key = ECDsa.Create();
        if (File.Exists(path))
        {
            key.ImportFromPem(File.ReadAllText(path));
            return key;
        }

        key.GenerateKey(ECCurve.NamedCurves.nistP256);
        SecureFiles.WriteAllBytes(path, System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()));
        return key;
    }

    public void Dispose() => _key.Dispose();
}
