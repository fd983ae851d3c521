using System.Security.Cryptography;
using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Attestation.Results;
using Cloister.Server.Hosting;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Attestation;

/// <summary>
/// Verifies evidence for API callers and signs the outcome as an EAR-style JWS. The signing key
/// (ECDSA P-256, <c>attestation-signing.pem</c>, mode 0600) is created on first start; relying parties
/// fetch its public half from <c>GET /v1/attestation/jwks</c>.
/// </summary>
internal sealed class AttestationService : IDisposable
{
    public const string SigningKeyFile = "attestation-signing.pem";

    private readonly ECDsa _key;
    private readonly AttestationResultSigner _signer;
    private readonly AttestationVerifier _verifier;

    public AttestationService(IOptions<ServerOptions> options)
    {
        _key = LoadOrCreateKey(Path.Combine(options.Value.DataDirectory, SigningKeyFile));
        _signer = new AttestationResultSigner(_key);
        _verifier = AttestationVerifiers.CreateDefault();
    }

    public string Jwks => _signer.ExportJwks();

    public (AttestationResult Result, string Token) Verify(EvidenceBundle evidence, AppraisalPolicy policy, DateTimeOffset at, DateTimeOffset now)
    {
        var result = _verifier.Verify(evidence, policy, at);
        return (result, _signer.Sign(result, policy.Id, now, TimeSpan.FromHours(1)));
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
