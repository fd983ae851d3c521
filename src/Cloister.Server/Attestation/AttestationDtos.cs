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
public sealed record VerifyEvidenceResponse(string Verdict, string Token, string PolicyId, ClaimsDto Claims, IReadOnlyList<CheckDto> Checks);
