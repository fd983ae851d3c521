namespace Cloister.Server.Attestation;

/// <summary>POST /v1/attestation/verify body.</summary>
/// <param name="Type">sev-snp, tdx, sgx, nitro or simulated.</param>
/// <param name="Evidence">The report, quote or document, base64.</param>
/// <param name="Certificates">Certificates beside the evidence (DER or PEM), each base64.</param>
/// <param name="Collateral">TDX/SGX collateral files (JSON bundle, TCB info, QE identity, CRLs), each base64.</param>
/// <param name="Policy">An appraisal policy object (docs/attestation.md); the default policy when absent.</param>
/// <param name="At">Verification time (certificates expire; tests pin it); now when absent.</param>
public sealed record VerifyEvidenceRequest(
    string? Type,
    string? Evidence,
    IReadOnlyList<string>? Certificates,
    IReadOnlyList<string>? Collateral,
    System.Text.Json.JsonElement? Policy,
    DateTimeOffset? At);

/// <summary>One check of an appraisal.</summary>
public sealed record CheckDto(string Name, string Status, string? Reason, string Impact);

/// <summary>Normalized claims.</summary>
public sealed record ClaimsDto(
    string Tee,
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
/// <param name="Verdict">affirming, warning or contraindicated.</param>
/// <param name="Token">The signed result (compact JWS).</param>
/// <param name="PolicyId">The server's policy id ("default"), or "caller:" + the id of a policy the caller supplied.</param>
/// <param name="PolicyDigest">"sha-256:" + the hex SHA-256 of the policy's canonical encoding (docs/attestation.md).</param>
/// <param name="VerifiedAt">The time the evidence was judged at (the request's "at", or now).</param>
/// <param name="Claims">Normalized claims.</param>
/// <param name="Checks">Every check made.</param>
public sealed record VerifyEvidenceResponse(string Verdict, string Token, string PolicyId, string PolicyDigest, DateTimeOffset VerifiedAt, ClaimsDto Claims, IReadOnlyList<CheckDto> Checks);
