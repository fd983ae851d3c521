using Cloister.Protocol;
using Cloister.Protocol.Attestation;
using Cloister.Server.Auth;
using Cloister.Server.Functions;
using Cloister.Server.Http;
using Cloister.Server.Tokens;
using Cloister.Storage;
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
            .MapGet("/", AttestAsync).Produces<WorkerAttestationInfo>();

        var sealedGroup = routes.MapGroup("/v1/sealed").WithTags("Sealed");
        sealedGroup.MapPost("/tokens", TokenizeAsync).RequireScope(Scopes.TokensWrite)
            .Accepts<SealedTokenizeBody>("application/json").Produces<BatchCreated>();
        sealedGroup.MapPost("/reveal", RevealAsync).RequireScope(Scopes.TokensReveal)
            .Accepts<SealedRevealBody>("application/json").Produces<SealedRevealed>();
        sealedGroup.MapPost("/functions/{name}/invoke", InvokeAsync).RequireScope(Scopes.FunctionsInvoke)
            .Accepts<SealedInvokeBody>("application/json").Produces<InvocationSucceeded>().Produces<InvocationAccepted>(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> AttestAsync(HttpContext http, EnclaveClient enclave, IFunctionStore store)
    {
        var text = http.Request.Query["nonce"].ToString();
        if (text.Length is < WorkerClaims.MinNonceBytes * 2 or > WorkerClaims.MaxNonceBytes * 2 || text.Length % 2 != 0 || !text.All(char.IsAsciiHexDigit))
        {
            return Problems.Invalid("invalid-nonce", "Invalid nonce", $"'nonce' must be {WorkerClaims.MinNonceBytes} to {WorkerClaims.MaxNonceBytes} bytes in hex.");
        }

        var tenant = ScopeFilter.CallerOf(http).Tenant;
        var functions = new List<string>();
        foreach (var function in await store.ListFunctionsAsync(tenant, http.RequestAborted))
        {
            functions.AddRange((await store.GetFunctionVersionsAsync(tenant, function.Name, http.RequestAborted)).Select(v => v.Measurement));
        }

        var response = await enclave.SendAsync<AttestationResponse>(new AttestationRequest(Convert.FromHexString(text), functions) { TenantId = tenant }, http.RequestAborted);
        if (!WorkerClaims.TryParse(response.Claims, out var claims, out _))
        {
            return Problems.Create(StatusCodes.Status500InternalServerError, "internal", "Internal error", "The worker returned claims that are not canonical.");
        }

        return TypedResults.Ok(new WorkerAttestationInfo(
            response.Tee,
            Convert.ToBase64String(response.Evidence),
            [.. response.Certificates.Select(Convert.ToBase64String)],
            Convert.ToBase64String(response.Claims),
            Convert.ToHexStringLower(claims.PublicKey)));
    }

    private static async Task<IResult> TokenizeAsync(HttpContext http, TokenService tokens, IOptions<ServerOptions> options, TimeProvider time)
    {
        var limit = (long)options.Value.MaxBatchItems * ((2L * (options.Value.MaxValueBytes + TokenValidation.SealedBoxOverhead)) + 8192);
        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.SealedTokenizeBody, limit);
        if (problem is not null)
        {
            return problem;
        }

        var now = time.GetUtcNow();
        var (items, invalid) = TokenEndpoints.ValidateBatch(body!.Items, options.Value.MaxBatchItems, (item, i) => TokenValidation.ValidateSealed(item, options.Value.MaxValueBytes, now, i));
        return invalid is not null ? invalid : await TokenEndpoints.CreateBatchResultAsync(tokens, ScopeFilter.CallerOf(http), items!, http.RequestAborted);
    }

    private static async Task<IResult> RevealAsync(HttpContext http, TokenService tokens, IOptions<ServerOptions> options, FailedLookupAudit failures)
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
        var (response, missing) = await tokens.SealedRevealAsync(caller.Tenant, caller.KeyId, [.. list!], sealedRequest, http.RequestAborted);
        if (response is null)
        {
            return TokenEndpoints.NotFound(failures, caller, "sealed-reveal", list[missing]!, missing);
        }

        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new SealedRevealed(Convert.ToBase64String(response.SealedResult)));
    }

    private static async Task<IResult> InvokeAsync(string name, HttpContext http, IFunctionStore store, InvocationService invocations)
    {
        if (!FunctionValidation.IsValidName(name))
        {
            return FunctionEndpoints.FunctionNotFound();
        }

        var mode = http.Request.Query["mode"].ToString();
        if (mode is not ("" or "sync" or "async"))
        {
            return Problems.Invalid("'mode' must be sync (the default) or async.");
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
        var (pin, invalid) = FunctionValidation.ValidateInvoke(new InvokeFunctionBody(null, null, body.Measurement), (int)JsonBody.DefaultLimit);
        if (invalid is not null)
        {
            return invalid;
        }

        var caller = ScopeFilter.CallerOf(http);
        var (function, pinProblem) = await FunctionEndpoints.ResolvePinAsync(store, caller.Tenant, name, pin!, http.RequestAborted);
        if (pinProblem is not null)
        {
            return pinProblem;
        }

        var (record, context) = await invocations.BeginAsync(caller.Tenant, caller.KeyId, function!, "{}", sealedInput, http.RequestAborted);
        return await FunctionEndpoints.RunAsync(mode, invocations, record, context);
    }
}
