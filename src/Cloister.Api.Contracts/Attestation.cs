using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace Cloister.Api.Contracts;

/// <summary>Names a TEE (evidence type): documents the property's values.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class TeeNameAttribute() : AllowedValuesAttribute("sev-snp", "tdx", "sgx", "nitro", "simulated");

/// <summary>Names an appraisal verdict (IETF RATS EAR): documents the property's values.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class VerdictNameAttribute() : AllowedValuesAttribute("affirming", "warning", "contraindicated");

/// <summary>POST /v1/attestation/verify body.</summary>
/// <param name="Type">The evidence type.</param>
/// <param name="Evidence">The report, quote or document, base64.</param>
/// <param name="Certificates">Certificates beside the evidence (DER or PEM), each base64.</param>
/// <param name="Collateral">TDX/SGX collateral files (JSON bundle, TCB info, QE identity, CRLs), each base64.</param>
/// <param name="Policy">An appraisal policy object (docs/attestation.md); the default policy when absent.</param>
/// <param name="At">Verification time (certificates expire; tests pin it); now when absent.</param>
public sealed record VerifyEvidenceRequest(
    [property: TeeName] string Type,
    string Evidence,
    IReadOnlyList<string>? Certificates = null,
    IReadOnlyList<string>? Collateral = null,
    JsonElement? Policy = null,
    DateTimeOffset? At = null);

/// <summary>One check of an appraisal.</summary>
/// <param name="Name">What was checked.</param>
/// <param name="Status">How it came out.</param>
/// <param name="Reason">Why, when it did not pass.</param>
/// <param name="Impact">What a failure does to the verdict.</param>
public sealed record CheckDto(
    string Name,
    [property: AllowedValues("pass", "fail", "not-evaluated")] string Status,
    string? Reason,
    [property: VerdictName] string Impact);

/// <summary>Normalized claims.</summary>
public sealed record ClaimsDto(
    [property: TeeName] string Tee,
    string? Measurement,
    bool? Debug,
    string? Tcb,
    string? TcbStatus,
    IReadOnlyList<string> AdvisoryIds,
    string? ReportData,
    string? Nonce,
    DateTimeOffset? IssuedAt,
    IReadOnlyDictionary<string, string> Extra);

/// <summary>POST /v1/attestation/verify response: the verdict, the signed result (JWS) and what it says.</summary>
/// <param name="Verdict">The verdict.</param>
/// <param name="Token">The signed result (compact JWS).</param>
/// <param name="PolicyId">The server's policy id ("default"), or "caller:" + the id of a policy the caller supplied.</param>
/// <param name="PolicyDigest">"sha-256:" + the hex SHA-256 of the policy's canonical encoding (docs/attestation.md).</param>
/// <param name="VerifiedAt">The time the evidence was judged at (the request's "at", or now).</param>
/// <param name="Claims">Normalized claims.</param>
/// <param name="Checks">Every check made.</param>
public sealed record VerifyEvidenceResponse(
    [property: VerdictName] string Verdict,
    string Token,
    string PolicyId,
    string PolicyDigest,
    DateTimeOffset VerifiedAt,
    ClaimsDto Claims,
    IReadOnlyList<CheckDto> Checks);

/// <summary>GET /v1/attestation/jwks response (RFC 7517): the public keys that sign verification results.</summary>
/// <param name="Keys">The keys, each a JWK object (kty, crv, x, y, kid, alg).</param>
public sealed record JsonWebKeySet(IReadOnlyList<JsonElement> Keys);
