using Cloister.Server.Http;

namespace Cloister.Server.Auth;

/// <summary>
/// Authenticates the bearer key and requires a scope. Admin routes require the admin scope, so a
/// tenant key gets 403 there; tenant routes require a tenant key holding one of the named scopes.
/// </summary>
internal sealed class ScopeFilter(params string[] scopes) : IEndpointFilter
{
    private const string CallerItem = "cloister.caller";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        => await AuthorizeAsync(context.HttpContext, scopes) is { } refused ? refused : await next(context);

    /// <summary>
    /// Authenticates the request's bearer key and requires one of <paramref name="scopes"/> (as the filter does, for
    /// endpoints that filters do not reach): null when the caller may go on (it is then <see cref="CallerOf"/>), else the
    /// problem to answer.
    /// </summary>
    public static async ValueTask<IResult?> AuthorizeAsync(HttpContext http, string[] scopes)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return Problems.Unauthorized("Missing API key: send 'Authorization: Bearer <key>'.");
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Unauthorized("The Authorization header must use the Bearer scheme.");
        }

        var authenticator = http.RequestServices.GetRequiredService<ApiKeyAuthenticator>();
        var caller = await authenticator.AuthenticateAsync(header["Bearer ".Length..].Trim(), http.RequestAborted);
        if (caller is null)
        {
            return Problems.Unauthorized("The API key is invalid or has been revoked.");
        }

        var isAdminRoute = scopes.Contains(Scopes.Admin);
        if (isAdminRoute != (caller.TenantId is null) || !scopes.Any(caller.Scopes.Contains))
        {
            return Problems.Forbidden(string.Join(" or ", scopes));
        }

        http.Items[CallerItem] = caller;
        return null;
    }

    public static Caller CallerOf(HttpContext http) => (Caller)http.Items[CallerItem]!;

    /// <summary>The authenticated caller, or null before (or without) authentication.</summary>
    public static Caller? FindCaller(HttpContext http) => http.Items.TryGetValue(CallerItem, out var caller) ? caller as Caller : null;
}

internal static class ScopeFilterExtensions
{
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope)
        where TBuilder : IEndpointConventionBuilder
        => builder.RequireAnyScope(scope);

    /// <summary>Requires a tenant key holding at least one of <paramref name="scopes"/> (documented as the bearer scheme with 401 and 403).</summary>
    public static TBuilder RequireAnyScope<TBuilder>(this TBuilder builder, params string[] scopes)
        where TBuilder : IEndpointConventionBuilder
        => builder.AddEndpointFilter(new ScopeFilter(scopes))
            .WithMetadata(new ScopeMetadata(scopes))
            .ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden);
}
