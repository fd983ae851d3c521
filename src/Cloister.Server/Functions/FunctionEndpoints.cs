using System.Text.Json;
using Cloister.Functions;
using Cloister.Protocol;
using Cloister.Server.Auth;
using Cloister.Server.Http;
using Cloister.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Functions;

/// <summary>/v1/functions (deploy, list, get, delete, invoke) and /v1/invocations/{id}.</summary>
internal static class FunctionEndpoints
{
    public static void MapFunctionEndpoints(this IEndpointRouteBuilder routes)
    {
        var deploy = routes.MapGroup("/v1/functions").WithTags("Functions").RequireScope(Scopes.FunctionsDeploy);
        deploy.MapPut("/{name}", DeployAsync).Accepts<DeployFunctionRequest>("application/json").Produces<FunctionDeployed>(StatusCodes.Status201Created).Produces<FunctionDeployed>();
        deploy.MapDelete("/{name}", DeleteAsync);

        // Reading needs either functions scope: an invoker may look up the versions it pins.
        var read = routes.MapGroup("/v1/functions").WithTags("Functions").RequireAnyScope(Scopes.FunctionsDeploy, Scopes.FunctionsInvoke);
        read.MapGet("/", ListAsync).Produces<FunctionList>();
        read.MapGet("/{name}", GetAsync).Produces<FunctionDetail>();

        var invoke = routes.MapGroup("/v1").WithTags("Functions").RequireScope(Scopes.FunctionsInvoke);
        invoke.MapPost("/functions/{name}/invoke", InvokeAsync).Accepts<InvokeFunctionBody>("application/json")
            .Produces<InvocationSucceeded>().Produces<InvocationAccepted>(StatusCodes.Status202Accepted);
        invoke.MapGet("/invocations/{id}", GetInvocationAsync).Produces<InvocationInfo>();
    }

    private static async Task<IResult> DeployAsync(string name, HttpContext http, FunctionService functions, IOptions<ServerOptions> options)
    {
        if (!FunctionValidation.IsValidName(name))
        {
            return FunctionValidation.InvalidName();
        }

        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.DeployFunctionRequest, options.Value.MaxDeployBodyBytes);
        if (problem is not null)
        {
            return problem;
        }

        var (deploy, invalid) = FunctionValidation.ValidateDeploy(body!, BundleLimits.Default);
        if (invalid is not null)
        {
            return invalid;
        }

        var caller = ScopeFilter.CallerOf(http);
        var outcome = await functions.DeployAsync(caller.Tenant, caller.KeyId, name, deploy!, http.RequestAborted);
        var v = outcome.Version;
        var deployed = new FunctionDeployed(v.Name, v.Version, v.Measurement, v.Runtime, v.CreatedAt);
        return outcome.Created
            ? TypedResults.Created($"/v1/functions/{Uri.EscapeDataString(name)}", deployed)
            : TypedResults.Ok(deployed);
    }

    private static async Task<IResult> ListAsync(HttpContext http, FunctionService functions)
    {
        var list = await functions.ListAsync(ScopeFilter.CallerOf(http).Tenant, http.RequestAborted);
        return TypedResults.Ok(new FunctionList([.. list.Select(f => new FunctionListItem(f.Name, f.LatestVersion, f.Measurement, f.Runtime, f.UpdatedAt))]));
    }

    private static async Task<IResult> GetAsync(string name, HttpContext http, FunctionService functions)
    {
        var versions = FunctionValidation.IsValidName(name)
            ? await functions.GetVersionsAsync(ScopeFilter.CallerOf(http).Tenant, name, http.RequestAborted)
            : [];
        if (versions.Count == 0)
        {
            return FunctionNotFound();
        }

        return TypedResults.Ok(new FunctionDetail(name, [.. versions.Select(v =>
            new FunctionVersionInfo(v.Version, v.Measurement, v.Runtime, v.CreatedAt, JsonDocument.Parse(v.ManifestJson).RootElement.Clone()))]));
    }

    private static async Task<IResult> DeleteAsync(string name, HttpContext http, FunctionService functions)
    {
        var caller = ScopeFilter.CallerOf(http);
        return FunctionValidation.IsValidName(name) && await functions.DeleteAsync(caller.Tenant, caller.KeyId, name, http.RequestAborted)
            ? TypedResults.NoContent()
            : FunctionNotFound();
    }

    private static async Task<IResult> InvokeAsync(string name, HttpContext http, IFunctionStore store, InvocationService invocations)
    {
        if (!FunctionValidation.IsValidName(name))
        {
            return FunctionNotFound();
        }

        var mode = http.Request.Query["mode"].ToString();
        if (mode is not ("" or "sync" or "async"))
        {
            return Problems.Invalid("'mode' must be sync (the default) or async.");
        }

        var (body, problem) = await JsonBody.ReadAsync(http.Request, ApiJsonContext.Default.InvokeFunctionBody);
        if (problem is not null)
        {
            return problem;
        }

        var (invoke, invalid) = FunctionValidation.ValidateInvoke(body!, (int)JsonBody.DefaultLimit);
        if (invalid is not null)
        {
            return invalid;
        }

        var caller = ScopeFilter.CallerOf(http);
        var (function, pinProblem) = await ResolvePinAsync(store, caller.Tenant, name, invoke!, http.RequestAborted);
        if (pinProblem is not null)
        {
            return pinProblem;
        }

        var (record, context) = await invocations.BeginAsync(caller.Tenant, caller.KeyId, function!, invoke!.ArgsJson, null, http.RequestAborted);
        return await RunAsync(mode, invocations, record, context);
    }

    /// <summary>Runs a begun invocation: in the background for <c>mode=async</c> (202), otherwise to its end (200 or a problem).</summary>
    internal static async Task<IResult> RunAsync(string mode, InvocationService invocations, InvocationRecord record, InvocationContext context)
    {
        if (mode == "async")
        {
            if (!invocations.RunInBackground(record, context))
            {
                return Problems.Create(StatusCodes.Status503ServiceUnavailable, "shutting-down", "Shutting down", "The server is stopping; retry the invocation.");
            }

            return TypedResults.Accepted($"/v1/invocations/{record.Id}", new InvocationAccepted(record.Id, "running"));
        }

        var done = await invocations.RunAsync(record, context);
        var ran = done.Record;
        return ran.Status == InvocationStatus.Succeeded
            ? TypedResults.Ok(new InvocationSucceeded(
                ran.Id, "succeeded", done.ResultJson!, ran.FunctionName, ran.Version, ran.Measurement,
                ran.DurationMs ?? 0, ran.Warm, done.Logs))
            : InvocationProblem(done);
    }

    private static async Task<IResult> GetInvocationAsync(string id, HttpContext http, InvocationService invocations, LargeRequests large)
    {
        var tenant = ScopeFilter.CallerOf(http).Tenant;

        // A large outcome takes a large-request slot before it is loaded (its bytes exist several times over while answered).
        var length = await invocations.OutcomeLengthAsync(tenant, id, http.RequestAborted);
        var view = length is null ? null : await EnterAndGetAsync();
        if (view is null)
        {
            return Problems.NotFound("invocation-not-found", "Invocation not found", "No such invocation in this tenant (it may have expired).");
        }

        var record = view.Record;
        return TypedResults.Ok(new InvocationInfo(
            record.Id,
            record.FunctionName,
            StatusName(record.Status),
            view.ResultJson,
            record.ErrorCode is null ? null : new InvocationErrorInfo(record.ErrorCode, view.ErrorDetail ?? ""),
            record.Version,
            record.Measurement,
            record.DurationMs,
            record.Warm,
            record.CreatedAt,
            record.CompletedAt));

        async Task<InvocationView?> EnterAndGetAsync()
        {
            await large.EnterAsync(http, length);
            return await invocations.GetAsync(tenant, id, http.RequestAborted);
        }
    }

    /// <summary>
    /// Which version runs. No pin: the latest. A version pin: that version (409 if it does not exist). A measurement pin:
    /// the latest, only if it still has that measurement (409 otherwise: the function changed since the caller looked).
    /// Both: they must name the same version (400 if they disagree).
    /// </summary>
    internal static async Task<(FunctionVersionRecord? Function, ProblemHttpResult? Problem)> ResolvePinAsync(IFunctionStore store, string tenantId, string name, ValidInvoke invoke, CancellationToken cancellationToken)
    {
        var latest = await store.GetFunctionVersionAsync(tenantId, name, null, cancellationToken);
        if (latest is null)
        {
            return (null, FunctionNotFound());
        }

        if (invoke.Version is not { } version)
        {
            return invoke.Measurement is null || invoke.Measurement == latest.Measurement
                ? (latest, null)
                : (null, VersionMismatch($"The measurement pin does not match the latest version ({latest.Version}) of '{name}'; it has changed since the pin was taken. Pin a version to run an older one."));
        }

        var pinned = version == latest.Version ? latest : await store.GetFunctionVersionAsync(tenantId, name, version, cancellationToken);
        if (pinned is null)
        {
            return (null, VersionMismatch($"'{name}' has no version {version} (the latest is {latest.Version})."));
        }

        if (invoke.Measurement is not null && invoke.Measurement != pinned.Measurement)
        {
            return (null, Problems.Invalid("pin-conflict", "Conflicting pins", $"'measurement' is not the measurement of version {version}; give one pin, or two that agree."));
        }

        return (pinned, null);
    }

    /// <summary>A failed invocation as problem details: 422 when the function caused it, 503 when the platform cannot run it now, else 500.</summary>
    internal static ProblemHttpResult InvocationProblem(InvocationView view)
    {
        var failed = view.Record;
        var code = failed.ErrorCode ?? EnclaveErrorCodes.Internal;
        var status = InvocationErrors.StatusOf(code);
        var extensions = new Dictionary<string, object?>
        {
            ["invocationId"] = failed.Id,
            ["version"] = failed.Version,
            ["measurement"] = failed.Measurement,
        };
        if (code == Problems.WorkerUnavailableCode)
        {
            extensions["retryable"] = true;
        }

        return Problems.Create(status, code, InvocationErrors.TitleOf(code), view.ErrorDetail, extensions);
    }

    internal static ProblemHttpResult FunctionNotFound()
        => Problems.NotFound("function-not-found", "Function not found", "No such function in this tenant.");

    private static ProblemHttpResult VersionMismatch(string detail)
        => Problems.Create(StatusCodes.Status409Conflict, "version-mismatch", "Version pin does not match", detail);

    private static string StatusName(InvocationStatus status) => status switch
    {
        InvocationStatus.Running => "running",
        InvocationStatus.Succeeded => "succeeded",
        _ => "failed",
    };
}
