using Cloister.Server.Http;

namespace Cloister.Server.Auth;

/// <summary>
/// Authenticates the bearer key and requires a scope. Admin routes require the admin scope, so a
/// tenant key gets 403 there; tenant routes require a tenant key holding the named scope.
/// </summary>
internal sealed class ScopeFilter(string scope) : IEndpointFilter
{
    private const string CallerItem = "cloister.caller";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
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

        var isAdminRoute = scope == Scopes.Admin;
        if (isAdminRoute != (caller.TenantId is null) || !caller.Scopes.Contains(scope))
        {
            return Problems.Forbidden(scope);
        }

        http.Items[CallerItem] = caller;
        return await next(context);
    }

    public static Caller CallerOf(HttpContext http) => (Caller)http.Items[CallerItem]!;
}

internal static class ScopeFilterExtensions
{
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope)
        where TBuilder : IEndpointConventionBuilder
        => builder.AddEndpointFilter(new ScopeFilter(scope));
}
