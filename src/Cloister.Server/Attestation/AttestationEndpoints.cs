using Cloister.Attestation;
using Cloister.Attestation.Policy;
using Cloister.Server.Auth;
using Cloister.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cloister.Server.Attestation;

/// <summary>/v1/attestation: verify evidence (scope attestation) and publish the result-signing key.</summary>
internal static class AttestationEndpoints
{
    /// <summary>How far ahead of the server's clock a caller's verification time <c>at</c> may be (clock skew).</summary>
    private static readonly TimeSpan FutureTolerance = TimeSpan.FromSeconds(60);

    // Evidence with its certificates and collateral (TCB info, QE identity, CRLs) fits comfortably.
    private const long BodyLimit = 8 * 1024 * 1024;

    public static void MapAttestationEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGroup("/v1/attestation").WithTags("Attestation").RequireScope(Scopes.Attestation)
            .MapPost("/verify", VerifyAsync).WithName("VerifyEvidence").WithSummary("Verify TEE evidence and get a signed result")
            .Accepts<VerifyEvidenceRequest>("application/json").ProducesBodyProblems();
        routes.MapGet("/v1/attestation/jwks", (AttestationService service) => TypedResults.Text(service.Jwks, JwksContentType)).WithTags("Attestation")
            .WithName("GetAttestationJwks").WithSummary("Get the public keys that sign verification results (no API key)")
            .Produces<JsonWebKeySet>(StatusCodes.Status200OK, JwksContentType);
    }

    private const string JwksContentType = "application/jwk-set+json";

    private static async Task<Results<Ok<VerifyEvidenceResponse>, ProblemHttpResult>> VerifyAsync(HttpContext http, AttestationService service, TimeProvider time)
    {
        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.VerifyEvidenceRequest, BodyLimit);
        if (problem is not null)
        {
            return problem;
        }

        if (!TeeNames.TryParse(body!.Type, out var tee))
        {
            return Problems.Invalid("unknown-tee", "Unknown evidence type", $"'type' must be one of: {string.Join(", ", TeeNames.All)}.");
        }

        if (!TryDecode(body.Evidence, out var evidence) || evidence.Length == 0)
        {
            return Problems.Invalid("'evidence' is required: the evidence bytes in base64.");
        }

        var certificates = new List<byte[]>();
        foreach (var (item, i) in (body.Certificates ?? []).Select((c, i) => (c, i)))
        {
            if (!TryDecode(item, out var bytes))
            {
                return Problems.Invalid($"'certificates[{i}]' is not base64.");
            }

            certificates.Add(bytes);
        }

        var collateral = new List<byte[]>();
        foreach (var (item, i) in (body.Collateral ?? []).Select((c, i) => (c, i)))
        {
            if (!TryDecode(item, out var bytes))
            {
                return Problems.Invalid($"'collateral[{i}]' is not base64.");
            }

            collateral.Add(bytes);
        }

        AppraisalPolicy? callerPolicy = null;
        if (body.Policy is { ValueKind: not System.Text.Json.JsonValueKind.Null } element && !AppraisalPolicyJson.TryParse(element, out callerPolicy, out var error))
        {
            return Problems.Invalid("invalid-policy", "Invalid appraisal policy", error);
        }

        if (AttestationService.Resolve(callerPolicy) is not { } policy)
        {
            return Problems.Invalid(
                "policy-id-reserved",
                "Policy id reserved",
                $"'policy.id' \"{callerPolicy!.Id}\" is the id of a server policy with other content (a policy without an id is \"default\"): give your policy its own id.");
        }

        var now = time.GetUtcNow();
        var at = body.At ?? now;
        if (at - now > FutureTolerance)
        {
            // Judging evidence at a time to come would sign a verdict nobody can have reached yet (and future-dated evidence would pass).
            return Problems.Invalid("invalid-time", "Verification time in the future", $"'at' may lie in the past but not in the future (more than {FutureTolerance.TotalSeconds:0} s ahead of the server's clock).");
        }

        // Within the skew, the caller's clock is ahead: judge at the server's now, so the signed verifiedAt is never after iat.
        at = at > now ? now : at;

        var (result, token) = service.Verify(new EvidenceBundle(tee, evidence, certificates, collateral.Count == 0 ? null : collateral), policy, at, now);
        return TypedResults.Ok(new VerifyEvidenceResponse(
            AttestationService.NameOf(result.Verdict),
            token,
            policy.SignedId,
            policy.Digest,
            at,
            AttestationService.ToDto(result.Claims),
            [.. result.Checks.Select(AttestationService.ToDto)]));
    }

    private static bool TryDecode(string? base64, out byte[] bytes)
    {
        bytes = [];
        if (base64 is null)
        {
            return false;
        }

        try
        {
            bytes = Convert.FromBase64String(base64);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
