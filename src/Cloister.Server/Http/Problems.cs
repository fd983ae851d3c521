using Cloister.Protocol;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Cloister.Server.Http;

/// <summary>
/// RFC 9457 problem details with stable types <c>urn:cloister:problem:{code}</c> (listed in docs/api.md).
/// A detail names fields, scopes, formats and indexes, never a submitted value or a key.
/// </summary>
internal static class Problems
{
    public const string TypePrefix = "urn:cloister:problem:";

    public static ProblemHttpResult Create(int status, string code, string title, string? detail = null, IDictionary<string, object?>? extensions = null)
    {
        var problem = new ProblemDetails
        {
            Status = status,
            Type = TypePrefix + code,
            Title = title,
            Detail = detail,
        };
        problem.Extensions["code"] = code;
        if (extensions is not null)
        {
            foreach (var (key, value) in extensions)
            {
                problem.Extensions[key] = value;
            }
        }

        return TypedResults.Problem(problem);
    }

    public static ProblemHttpResult Unauthorized(string detail)
        => Create(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized", detail);

    public static ProblemHttpResult Forbidden(string scope)
        => Create(StatusCodes.Status403Forbidden, "missing-scope", "Forbidden", $"This API key lacks the scope '{scope}'.", new Dictionary<string, object?> { ["scope"] = scope });

    /// <summary>404 token-not-found; with <paramref name="index"/>, the sealed reveal's item that is not a token of the tenant.</summary>
    public static ProblemHttpResult TokenNotFound(int? index = null)
        => index is null
            ? Create(StatusCodes.Status404NotFound, "token-not-found", "Token not found", "No such token in this tenant.")
            : Create(StatusCodes.Status404NotFound, "token-not-found", "Token not found", $"tokens[{index}] is not a token of this tenant.", new Dictionary<string, object?> { ["index"] = index });

    public static ProblemHttpResult NotFound(string code, string title, string detail)
        => Create(StatusCodes.Status404NotFound, code, title, detail);

    public static ProblemHttpResult MalformedJson(string? path)
        => Create(StatusCodes.Status400BadRequest, "malformed-json", "Malformed JSON", path is null ? "The request body is not valid JSON." : $"The request body is not valid JSON for this route (at {path}).");

    /// <summary>400 <c>duplicate-field</c>, <c>unknown-field</c> or <c>malformed-json</c> (<see cref="StrictJson"/>), naming the path.</summary>
    public static ProblemHttpResult JsonRefused(JsonRefusal refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        return refusal.Code switch
        {
            "duplicate-field" => Invalid(refusal.Code, "Duplicate member", $"'{refusal.Path}' appears more than once in its object; name each member once."),
            "unknown-field" => Invalid(refusal.Code, "Unknown member", refusal.Suggestion is null
                ? $"'{refusal.Path}' is not a member of this request body."
                : $"'{refusal.Path}' is not a member of this request body (member names are case-sensitive: '{refusal.Suggestion}')."),
            _ => MalformedJson(refusal.Path),
        };
    }

    /// <summary>
    /// A body Kestrel could not read: 413 <c>body-too-large</c>, 408 <c>body-timeout</c> (it arrived slower than the minimum
    /// data rate: Kestrel's 240 bytes/s after a 5 s grace), or 400 <c>unreadable-body</c> (a broken chunked encoding, a body
    /// shorter than its Content-Length).
    /// </summary>
    public static ProblemHttpResult FromBadRequest(BadHttpRequestException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error.StatusCode switch
        {
            StatusCodes.Status413PayloadTooLarge => Create(StatusCodes.Status413PayloadTooLarge, "body-too-large", "Request body too large", "The request body exceeds the server's limit."),
            StatusCodes.Status408RequestTimeout => Create(StatusCodes.Status408RequestTimeout, "body-timeout", "Request body too slow", "The request body did not arrive in time; send the request again."),
            _ => Create(StatusCodes.Status400BadRequest, "unreadable-body", "Unreadable request body", "The request body could not be read (its framing is broken)."),
        };
    }

    public static ProblemHttpResult Invalid(string detail)
        => Create(StatusCodes.Status400BadRequest, "invalid-request", "Invalid request", detail);

    public static ProblemHttpResult Invalid(string code, string title, string detail)
        => Create(StatusCodes.Status400BadRequest, code, title, detail);

    /// <summary>
    /// 429 <c>rate-limited</c> with <c>Retry-After</c> (whole seconds, at least 1) and the extension members <c>limit</c>
    /// (what is limited, e.g. "search") and <c>retryAfterSeconds</c>.
    /// </summary>
    public static ProblemHttpResult RateLimited(HttpContext http, string limit, TimeSpan retryAfter)
    {
        ArgumentNullException.ThrowIfNull(http);
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Create(
            StatusCodes.Status429TooManyRequests,
            "rate-limited",
            "Too many requests",
            $"This API key has used its {limit} allowance; retry after {seconds} s.",
            new Dictionary<string, object?> { ["limit"] = limit, ["retryAfterSeconds"] = seconds });
    }

    /// <summary>The code of <see cref="WorkerUnavailable"/>, also an invocation's error code when its worker went away.</summary>
    public const string WorkerUnavailableCode = "worker-unavailable";

    /// <summary>
    /// 503 with <c>Retry-After: 1</c> and <c>"retryable": true</c>: the enclave worker is gone and restarting (or the
    /// remote worker is unreachable). Nothing the request would have written was acknowledged; retrying is safe.
    /// </summary>
    public static ProblemHttpResult WorkerUnavailable(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Response.Headers.RetryAfter = "1";
        return Create(
            StatusCodes.Status503ServiceUnavailable,
            WorkerUnavailableCode,
            "Enclave worker unavailable",
            "The enclave worker is restarting or unreachable; retry the request.",
            new Dictionary<string, object?> { ["retryable"] = true });
    }

    /// <summary>The code of <see cref="MessageTooLarge"/>, also an invocation's error code when one of its messages did not fit.</summary>
    public const string MessageTooLargeCode = "message-too-large";

    /// <summary>
    /// 429 with <c>Retry-After</c>: the caller's tenant already has as much running and waiting as it may
    /// (invocations, or requests waiting for the enclave worker). Nothing was recorded; retrying later is safe.
    /// </summary>
    public static ProblemHttpResult TenantBusy(HttpContext http, TenantBusyException busy)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(busy);
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(busy.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Create(StatusCodes.Status429TooManyRequests, "tenant-busy", "Too much work in flight", busy.Message, new Dictionary<string, object?> { ["retryable"] = true });
    }

    /// <summary>413: the request, or its answer, does not fit in one message between the router and the enclave worker; only this request failed.</summary>
    public static ProblemHttpResult MessageTooLarge(FrameTooLargeException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Create(
            StatusCodes.Status413PayloadTooLarge,
            MessageTooLargeCode,
            "Too large for the enclave link",
            $"This request or its answer exceeds the {error.Limit} bytes one message between the router and the enclave worker may carry; send fewer or smaller items.");
    }

    /// <summary>Maps an enclave error to problem details (enclave details never carry values).</summary>
    public static ProblemHttpResult FromEnclave(EnclaveError error, int? index = null)
    {
        var extensions = index is null ? null : new Dictionary<string, object?> { ["index"] = index };
        var where = index is null ? "" : $"Item {index}: ";
        return error.Code switch
        {
            EnclaveErrorCodes.SpaceExhausted => Create(StatusCodes.Status409Conflict, error.Code, "Token space exhausted", where + error.Detail, extensions),
            EnclaveErrorCodes.UnknownFormat or EnclaveErrorCodes.UnknownAlphabet or EnclaveErrorCodes.InvalidValue
                or EnclaveErrorCodes.InvalidCardNumber or EnclaveErrorCodes.DomainTooSmall or EnclaveErrorCodes.BadRequest
                => Create(StatusCodes.Status400BadRequest, error.Code, TitleOf(error.Code), where + error.Detail, extensions),
            EnclaveErrorCodes.DecryptFailed => Create(StatusCodes.Status500InternalServerError, "integrity-failure", "Stored ciphertext failed authentication", "The stored record could not be decrypted; it may have been tampered with.", extensions),
            EnclaveErrorCodes.KeyUnavailable => Create(StatusCodes.Status503ServiceUnavailable, error.Code, "Keys unavailable", error.Detail, extensions),
            SealedErrorCodes.AttestationUnavailable => Create(StatusCodes.Status503ServiceUnavailable, error.Code, "Attestation unavailable", error.Detail, extensions),
            SealedErrorCodes.SealedBoxInvalid => Create(StatusCodes.Status400BadRequest, error.Code, "Sealed box refused", where + error.Detail, extensions),
            SealedErrorCodes.SessionUnknown => Create(StatusCodes.Status400BadRequest, error.Code, "Sealed session unknown", where + error.Detail, extensions),
            SealedErrorCodes.TokensMismatch => Create(StatusCodes.Status400BadRequest, error.Code, "Sealed tokens do not match", error.Detail, extensions),
            SealedErrorCodes.PinMismatch => Create(StatusCodes.Status409Conflict, error.Code, "Pinned measurement does not match", error.Detail, extensions),
            _ => Create(StatusCodes.Status500InternalServerError, "internal", "Internal error", "The enclave could not complete the operation.", extensions),
        };
    }

    private static string TitleOf(string code) => code switch
    {
        EnclaveErrorCodes.UnknownFormat => "Unknown token format",
        EnclaveErrorCodes.UnknownAlphabet => "Unknown alphabet",
        EnclaveErrorCodes.InvalidCardNumber => "Invalid card number",
        EnclaveErrorCodes.DomainTooSmall => "Value too short for format-preserving encryption",
        _ => "Invalid value",
    };
}
