using System.Text;
using Cloister.Server.Auth;
using Cloister.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Tokens;

/// <summary>/v1/tokens: create, batch, metadata, reveal, delete, search.</summary>
internal static class TokenEndpoints
{
    public static void MapTokenEndpoints(this IEndpointRouteBuilder routes)
    {
        var write = routes.MapGroup("/v1/tokens").WithTags("Tokens").RequireScope(Scopes.TokensWrite);
        write.MapPost("/", CreateAsync).WithName("CreateToken").WithSummary("Tokenize a value")
            .Accepts<CreateTokenRequest>("application/json").ProducesBodyProblems().ProducesEnclaveProblems().ProducesProblems(StatusCodes.Status409Conflict)
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The new token's URL.");
        write.MapPost("/batch", CreateBatchAsync).WithName("CreateTokens").WithSummary("Tokenize a batch of values, all or none")
            .Accepts<BatchCreateRequest>("application/json").ProducesBodyProblems().ProducesEnclaveProblems().ProducesProblems(StatusCodes.Status409Conflict);
        write.MapGet("/{token}", GetAsync).WithName("GetToken").WithSummary("Read a token's metadata (never its value)")
            .ProducesProblems(StatusCodes.Status404NotFound);
        write.MapDelete("/{token}", DeleteAsync).WithName("DeleteToken").WithSummary("Delete a token")
            .ProducesProblems(StatusCodes.Status404NotFound);

        routes.MapGroup("/v1/tokens").WithTags("Tokens").RequireScope(Scopes.TokensReveal)
            .MapPost("/{token}/reveal", RevealAsync).WithName("RevealToken").WithSummary("Reveal a token's value")
            .ProducesEnclaveProblems().ProducesProblems(StatusCodes.Status404NotFound)
            .WithResponseHeader(StatusCodes.Status200OK, "Cache-Control", "no-store: the value must not be cached.");

        routes.MapGroup("/v1/tokens").WithTags("Tokens").RequireScope(Scopes.TokensSearch)
            .MapPost("/search", SearchAsync).WithName("SearchTokens").WithSummary("Find the tokens of a value (rate-limited per key)")
            .Accepts<SearchRequest>("application/json").ProducesBodyProblems().ProducesEnclaveProblems();
    }

    private static async Task<Results<Created<TokenCreated>, ProblemHttpResult>> CreateAsync(HttpContext http, TokenService tokens, IOptions<ServerOptions> options, TimeProvider time)
    {
        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.CreateTokenRequest);
        if (problem is not null)
        {
            return problem;
        }

        var (item, invalid) = TokenValidation.Validate(body, options.Value.MaxValueBytes, time.GetUtcNow());
        if (invalid is not null)
        {
            return invalid;
        }

        var (records, failed) = await tokens.CreateAsync(ScopeFilter.CallerOf(http), [item!], batch: false, http.RequestAborted);
        if (failed is not null)
        {
            return failed;
        }

        var created = TokenViews.Created(records![0]);
        return TypedResults.Created($"/v1/tokens/{Uri.EscapeDataString(created.Token)}", created);
    }

    private static async Task<Results<Ok<BatchCreated>, ProblemHttpResult>> CreateBatchAsync(HttpContext http, TokenService tokens, IOptions<ServerOptions> options, TimeProvider time)
    {
        // Only the batch route takes large bodies: a full batch of maximal values, JSON-escaped.
        var limit = (long)options.Value.MaxBatchItems * ((2L * options.Value.MaxValueBytes) + 8192);
        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.BatchCreateRequest, limit);
        if (problem is not null)
        {
            return problem;
        }

        var now = time.GetUtcNow();
        var (items, invalid) = TokenValidation.ValidateBatch(body!.Items, options.Value.MaxBatchItems, (item, i) => TokenValidation.Validate(item, options.Value.MaxValueBytes, now, i));
        if (invalid is not null)
        {
            return invalid;
        }

        var (records, failed) = await tokens.CreateAsync(ScopeFilter.CallerOf(http), items!, batch: true, http.RequestAborted);
        return failed is not null ? failed : TypedResults.Ok(TokenViews.Batch(records!));
    }

    private static async Task<Results<Ok<TokenInfo>, ProblemHttpResult>> GetAsync(string token, HttpContext http, TokenService tokens, FailedLookupAudit failures)
    {
        var caller = ScopeFilter.CallerOf(http);
        var record = await tokens.GetAsync(caller.Tenant, token, http.RequestAborted);
        return record is null ? failures.NotFound(caller, "get", token) : TypedResults.Ok(TokenViews.Info(record));
    }

    private static async Task<Results<Ok<RevealedValue>, ProblemHttpResult>> RevealAsync(string token, HttpContext http, TokenService tokens, FailedLookupAudit failures)
    {
        var caller = ScopeFilter.CallerOf(http);
        var (value, error, found) = await tokens.RevealAsync(caller.Tenant, caller.KeyId, token, http.RequestAborted);
        if (!found)
        {
            return failures.NotFound(caller, "reveal", token);
        }

        if (error is not null)
        {
            return Problems.FromEnclave(error);
        }

        // A value must not linger in a shared or browser cache.
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new RevealedValue(value!));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string token, HttpContext http, TokenService tokens, FailedLookupAudit failures)
    {
        var caller = ScopeFilter.CallerOf(http);
        var record = await tokens.GetAsync(caller.Tenant, token, http.RequestAborted);
        if (record is null || !await tokens.DeleteAsync(caller.Tenant, caller.KeyId, token, http.RequestAborted))
        {
            return failures.NotFound(caller, "delete", token);
        }

        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<SearchResult>, ProblemHttpResult>> SearchAsync(HttpContext http, TokenService tokens, IOptions<ServerOptions> options, SearchRateLimiter limiter)
    {
        // Counted before the body is read: every attempt, valid or not, spends the key's allowance.
        var caller = ScopeFilter.CallerOf(http);
        if (!limiter.TryAcquire(caller.KeyId, out var retryAfter))
        {
            return Problems.RateLimited(http, "search", retryAfter);
        }

        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.SearchRequest);
        if (problem is not null)
        {
            return problem;
        }

        if (string.IsNullOrEmpty(body!.Value))
        {
            return Problems.Invalid("'value' is required and must be a non-empty string.");
        }

        if (Encoding.UTF8.GetByteCount(body.Value) > options.Value.MaxValueBytes)
        {
            return Problems.Invalid("value-too-large", "Value too large", $"'value' exceeds the limit of {options.Value.MaxValueBytes} bytes.");
        }

        var found = await tokens.SearchAsync(caller.Tenant, caller.KeyId, body.Value, http.RequestAborted);
        return TypedResults.Ok(new SearchResult([.. found.Select(TokenViews.Info)]));
    }
}
