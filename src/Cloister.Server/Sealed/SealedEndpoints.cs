using Cloister.Protocol.Attestation;
using Cloister.Server.Auth;
using Cloister.Server.Functions;
using Cloister.Server.Http;
using Cloister.Server.Tokens;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Sealed;

/// <summary>
/// GET /v1/attestation (the worker's evidence for a client's nonce) and the sealed routes under /v1/sealed: tokenize,
/// reveal and invoke with payloads sealed to the worker's attested key (docs/api.md, "Sealed requests"). The router
/// forwards the boxes, stores and audits what it always does, and never sees the plaintext.
/// </summary>
internal static class SealedEndpoints
{
    // A sealed invocation's box: the args (JsonBody's limit) plus the payload's other fields and the box's overhead.
    private const long InvokeBodyLimit = 2 * JsonBody.DefaultLimit;

    public static void MapSealedEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGroup("/v1/attestation").WithTags("Attestation").RequireScope(Scopes.Attestation)
            .MapGet("/", AttestAsync).WithName("GetWorkerAttestation").WithSummary("Get the enclave worker's evidence and claims for a nonce")
            .ProducesProblems(StatusCodes.Status400BadRequest).ProducesEnclaveProblems();

        var sealedGroup = routes.MapGroup("/v1/sealed").WithTags("Sealed");
        sealedGroup.MapPost("/tokens", TokenizeAsync).RequireScope(Scopes.TokensWrite).WithName("CreateSealedTokens").WithSummary("Tokenize values sealed to the worker")
            .Accepts<SealedTokenizeBody>("application/json").ProducesBodyProblems().ProducesEnclaveProblems().ProducesProblems(StatusCodes.Status409Conflict);
        sealedGroup.MapPost("/reveal", RevealAsync).RequireScope(Scopes.TokensReveal).WithName("RevealSealed").WithSummary("Reveal tokens, the values sealed to the caller's reply key")
            .Accepts<SealedRevealBody>("application/json").ProducesBodyProblems().ProducesEnclaveProblems().ProducesProblems(StatusCodes.Status404NotFound)
            .WithResponseHeader(StatusCodes.Status200OK, "Cache-Control", "no-store: the answer must not be cached.");
        sealedGroup.MapPost("/functions/{name}/invoke", InvokeAsync).RequireScope(Scopes.FunctionsInvoke).WithName("InvokeSealed").WithSummary("Invoke a function with sealed args and a sealed outcome")
            .Accepts<SealedInvokeBody>("application/json").ProducesInvocationProblems();
    }

    private static async Task<Results<Ok<WorkerAttestationInfo>, ProblemHttpResult>> AttestAsync(
        [FromQuery, System.ComponentModel.DataAnnotations.Required] string? nonce, HttpContext http, WorkerAttestation attestation)
    {
        var text = nonce ?? "";
        if (text.Length is < WorkerClaims.MinNonceBytes * 2 or > WorkerClaims.MaxNonceBytes * 2 || text.Length % 2 != 0 || !text.All(char.IsAsciiHexDigit))
        {
            return Problems.Invalid("invalid-nonce", "Invalid nonce", $"'nonce' must be {WorkerClaims.MinNonceBytes} to {WorkerClaims.MaxNonceBytes} bytes in hex.");
        }

        var info = await attestation.AttestAsync(ScopeFilter.CallerOf(http).Tenant, Convert.FromHexString(text), http.RequestAborted);
        return info is null
            ? Problems.Create(StatusCodes.Status500InternalServerError, "internal", "Internal error", "The worker returned claims that are not canonical.")
            : TypedResults.Ok(info);
    }

    private static async Task<Results<Ok<BatchCreated>, ProblemHttpResult>> TokenizeAsync(HttpContext http, TokenService tokens, IOptions<ServerOptions> options, TimeProvider time)
    {
        var limit = (long)options.Value.MaxBatchItems * ((2L * (options.Value.MaxValueBytes + TokenValidation.SealedBoxOverhead)) + 8192);
        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.SealedTokenizeBody, limit);
        if (problem is not null)
        {
            return problem;
        }

        var now = time.GetUtcNow();
        var (items, invalid) = TokenValidation.ValidateBatch(body!.Items, options.Value.MaxBatchItems, (item, i) => TokenValidation.ValidateSealed(item, options.Value.MaxValueBytes, now, i));
        if (invalid is not null)
        {
            return invalid;
        }

        var (records, failed) = await tokens.CreateAsync(ScopeFilter.CallerOf(http), items!, batch: true, http.RequestAborted);
        return failed is not null ? failed : TypedResults.Ok(TokenViews.Batch(records!));
    }

    private static async Task<Results<Ok<SealedRevealed>, ProblemHttpResult>> RevealAsync(HttpContext http, TokenService tokens, IOptions<ServerOptions> options, FailedLookupAudit failures)
    {
        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.SealedRevealBody);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Tokens is not { Count: > 0 } list || list.Any(string.IsNullOrEmpty) || list.Count > options.Value.MaxBatchItems)
        {
            return Problems.Invalid($"'tokens' must be 1 to {options.Value.MaxBatchItems} non-empty strings.");
        }

        if (TokenValidation.Base64OrNull(body.SealedRequest) is not { } sealedRequest)
        {
            return Problems.Invalid("'sealedRequest' is required: a sealed box in base64.");
        }

        var caller = ScopeFilter.CallerOf(http);
        var (response, missing) = await tokens.SealedRevealAsync(caller.Tenant, caller.KeyId, [.. list], sealedRequest, http.RequestAborted);
        if (response is null)
        {
            return failures.NotFound(caller, "sealed-reveal", list[missing], missing);
        }

        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new SealedRevealed(Convert.ToBase64String(response.SealedResult)));
    }

    private static async Task<Results<Ok<InvocationSucceeded>, Accepted<InvocationAccepted>, ProblemHttpResult>> InvokeAsync(
        string name, [FromQuery, System.ComponentModel.DataAnnotations.AllowedValues(FunctionInvoker.Sync, FunctionInvoker.Async)] string? mode, HttpContext http, FunctionInvoker invoker)
    {
        if (!FunctionValidation.IsValidName(name))
        {
            return FunctionService.NotFound();
        }

        if (FunctionInvoker.CheckMode(mode) is { } badMode)
        {
            return badMode;
        }

        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.SealedInvokeBody, InvokeBodyLimit);
        if (problem is not null)
        {
            return problem;
        }

        if (TokenValidation.Base64OrNull(body!.SealedInput) is not { } sealedInput)
        {
            return Problems.Invalid("'sealedInput' is required: a sealed box in base64.");
        }

        // The clear measurement only picks the version; the worker checks the pin sealed inside the box.
        var (pin, invalid) = FunctionValidation.ValidateInvoke(new InvokeFunctionBody(Measurement: body.Measurement), (int)JsonBody.DefaultLimit);
        if (invalid is not null)
        {
            return invalid;
        }

        return await invoker.InvokeAsync(ScopeFilter.CallerOf(http), name, mode, pin!, sealedInput, http.RequestAborted);
    }
}
