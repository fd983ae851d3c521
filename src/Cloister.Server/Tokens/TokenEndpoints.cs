using System.Text;
using System.Text.Json;
using Cloister.Server.Auth;
using Cloister.Server.Http;
using Cloister.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Tokens;

/// <summary>/v1/tokens: create, batch, metadata, reveal, delete, search.</summary>
internal static class TokenEndpoints
{
    public static void MapTokenEndpoints(this IEndpointRouteBuilder routes)
    {
        var write = routes.MapGroup("/v1/tokens").WithTags("Tokens").RequireScope(Scopes.TokensWrite);
        write.MapPost("/", CreateAsync).Accepts<CreateTokenRequest>("application/json").Produces<TokenCreated>(StatusCodes.Status201Created);
        write.MapPost("/batch", CreateBatchAsync).Accepts<BatchCreateRequest>("application/json").Produces<BatchCreated>();
        write.MapGet("/{token}", GetAsync).Produces<TokenInfo>();
        write.MapDelete("/{token}", DeleteAsync);

        routes.MapGroup("/v1/tokens").WithTags("Tokens").RequireScope(Scopes.TokensReveal)
            .MapPost("/{token}/reveal", RevealAsync).Produces<RevealedValue>();

        routes.MapGroup("/v1/tokens").WithTags("Tokens").RequireScope(Scopes.TokensSearch)
            .MapPost("/search", SearchAsync).Accepts<SearchRequest>("application/json").Produces<SearchResult>().Produces(StatusCodes.Status429TooManyRequests);
    }

    private static async Task<IResult> CreateAsync(HttpContext http, TokenService tokens, IOptions<ServerOptions> options, TimeProvider time)
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

        var caller = ScopeFilter.CallerOf(http);
        var outcome = await CreateOrConflictAsync(tokens, caller, [item!], batch: false, http.RequestAborted);
        if (outcome.Problem is not null)
        {
            return outcome.Problem;
        }

        var created = ToCreated(outcome.Tokens![0]);
        return TypedResults.Created($"/v1/tokens/{Uri.EscapeDataString(created.Token)}", created);
    }

    private static async Task<IResult> CreateBatchAsync(HttpContext http, TokenService tokens, IOptions<ServerOptions> options, TimeProvider time)
    {
        // Only the batch route takes large bodies: a full batch of maximal values, JSON-escaped.
        var limit = (long)options.Value.MaxBatchItems * ((2L * options.Value.MaxValueBytes) + 8192);
        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.BatchCreateRequest, limit);
        if (problem is not null)
        {
            return problem;
        }

        var now = time.GetUtcNow();
        var (items, invalid) = ValidateBatch(body!.Items, options.Value.MaxBatchItems, (item, i) => TokenValidation.Validate(item, options.Value.MaxValueBytes, now, i));
        return invalid is not null ? invalid : await CreateBatchResultAsync(tokens, ScopeFilter.CallerOf(http), items!, http.RequestAborted);
    }

    /// <summary>Checks a batch's size (1..<paramref name="max"/>) and validates each item in order; the first problem wins.</summary>
    internal static (List<NewToken>? Items, ProblemHttpResult? Problem) ValidateBatch<T>(IReadOnlyList<T>? batch, int max, Func<T, int, (NewToken? Item, ProblemHttpResult? Problem)> validate)
    {
        if (batch is null || batch.Count == 0)
        {
            return (null, Problems.Invalid("'items' must be a non-empty array."));
        }

        if (batch.Count > max)
        {
            return (null, Problems.Invalid("batch-too-large", "Batch too large", $"A batch holds at most {max} items; this one has {batch.Count}."));
        }

        var items = new List<NewToken>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var (item, invalid) = validate(batch[i], i);
            if (invalid is not null)
            {
                return (null, invalid);
            }

            items.Add(item!);
        }

        return (items, null);
    }

    /// <summary>Creates validated items (plain or sealed) as one batch: 200 with the tokens in order, or the first item's problem.</summary>
    internal static async Task<IResult> CreateBatchResultAsync(TokenService tokens, Caller caller, List<NewToken> items, CancellationToken cancellationToken)
    {
        var outcome = await CreateOrConflictAsync(tokens, caller, items, batch: true, cancellationToken);
        return outcome.Problem ?? (IResult)TypedResults.Ok(new BatchCreated(outcome.Tokens!.Select(ToCreated).ToList()));
    }

    private static async Task<(IReadOnlyList<TokenRecord>? Tokens, ProblemHttpResult? Problem)> CreateOrConflictAsync(TokenService tokens, Caller caller, List<NewToken> items, bool batch, CancellationToken cancellationToken)
    {
        try
        {
            var outcome = await tokens.CreateAsync(caller.Tenant, caller.KeyId, items, cancellationToken);
            return outcome.Error is null
                ? (outcome.Tokens, null)
                : (null, Problems.FromEnclave(outcome.Error, batch ? outcome.ErrorIndex : null));
        }
        catch (TokenConflictException e)
        {
            return (null, Problems.Create(StatusCodes.Status409Conflict, "token-conflict", "Token conflict", e.Message));
        }
    }

    private static async Task<IResult> GetAsync(string token, HttpContext http, TokenService tokens, FailedLookupAudit failures)
    {
        var caller = ScopeFilter.CallerOf(http);
        var record = await tokens.GetAsync(caller.Tenant, token, http.RequestAborted);
        return record is null ? NotFound(failures, caller, "get", token) : TypedResults.Ok(ToInfo(record));
    }

    private static async Task<IResult> RevealAsync(string token, HttpContext http, TokenService tokens, FailedLookupAudit failures)
    {
        var caller = ScopeFilter.CallerOf(http);
        var (value, error, found) = await tokens.RevealAsync(caller.Tenant, caller.KeyId, token, http.RequestAborted);
        if (!found)
        {
            return NotFound(failures, caller, "reveal", token);
        }

        if (error is not null)
        {
            return Problems.FromEnclave(error);
        }

        // A value must not linger in a shared or browser cache.
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new RevealedValue(value!));
    }

    private static async Task<IResult> DeleteAsync(string token, HttpContext http, TokenService tokens, FailedLookupAudit failures)
    {
        var caller = ScopeFilter.CallerOf(http);
        var record = await tokens.GetAsync(caller.Tenant, token, http.RequestAborted);
        if (record is null || !await tokens.DeleteAsync(caller.Tenant, caller.KeyId, token, http.RequestAborted))
        {
            return NotFound(failures, caller, "delete", token);
        }

        return TypedResults.NoContent();
    }

    /// <summary>404 token-not-found, counted for the aggregated audit entry of failed lookups (the same for every reason).</summary>
    internal static ProblemHttpResult NotFound(FailedLookupAudit failures, Caller caller, string operation, string token, int? index = null)
    {
        failures.Record(caller, operation, token);
        return Problems.TokenNotFound(index);
    }

    private static async Task<IResult> SearchAsync(HttpContext http, TokenService tokens, IOptions<ServerOptions> options, SearchRateLimiter limiter)
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
        return TypedResults.Ok(new SearchResult(found.Select(ToInfo).ToList()));
    }

    private static TokenCreated ToCreated(TokenRecord r) => new(r.Token, r.Format, r.Alphabet, r.Classifier, r.Mask, r.CreatedAt, r.ExpiresAt);

    private static TokenInfo ToInfo(TokenRecord r) => new(
        r.Token, r.Format, r.Alphabet, r.Classifier, r.Mask, r.DeterministicKey is not null, r.KeyVersion, r.CreatedAt, r.ExpiresAt,
        r.MetadataJson is null ? null : JsonDocument.Parse(r.MetadataJson).RootElement.Clone());
}
