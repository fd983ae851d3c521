using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Cloister.Functions;
using Cloister.Server.Auth;
using Cloister.Server.Http;
using Cloister.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Cloister.Server.Functions;

/// <summary>/v1/functions (deploy, list, get, delete, invoke) and /v1/invocations/{id}.</summary>
internal static class FunctionEndpoints
{
    public static void MapFunctionEndpoints(this IEndpointRouteBuilder routes)
    {
        var deploy = routes.MapGroup("/v1/functions").WithTags("Functions").RequireScope(Scopes.FunctionsDeploy);
        deploy.MapPut("/{name}", DeployAsync).WithName("DeployFunction").WithSummary("Deploy a function version (unchanged when the latest has the same measurement)")
            .Accepts<DeployFunctionRequest>("application/json").ProducesBodyProblems().ProducesEnclaveProblems()
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The function's URL.");
        deploy.MapDelete("/{name}", DeleteAsync).WithName("DeleteFunction").WithSummary("Delete a function and every version")
            .ProducesProblems(StatusCodes.Status404NotFound);

        // Reading needs either functions scope: an invoker may look up the versions it pins.
        var read = routes.MapGroup("/v1/functions").WithTags("Functions").RequireAnyScope(Scopes.FunctionsDeploy, Scopes.FunctionsInvoke);
        read.MapGet("/", ListAsync).WithName("ListFunctions").WithSummary("List the tenant's functions with their latest versions");
        read.MapGet("/{name}", GetAsync).WithName("GetFunction").WithSummary("Read a function's versions")
            .ProducesProblems(StatusCodes.Status404NotFound);

        var invoke = routes.MapGroup("/v1").WithTags("Functions").RequireScope(Scopes.FunctionsInvoke);
        invoke.MapPost("/functions/{name}/invoke", InvokeAsync).WithName("InvokeFunction").WithSummary("Invoke a function, waiting for its result or (mode=async) not")
            .Accepts<InvokeFunctionBody>("application/json").ProducesInvocationProblems();
        invoke.MapGet("/invocations/{id}", GetInvocationAsync).WithName("GetInvocation").WithSummary("Read an invocation and its outcome")
            .ProducesEnclaveProblems().ProducesProblems(StatusCodes.Status404NotFound);
    }

    /// <summary>Documents what an invoke route (plain or sealed) answers besides its result: the body's, the pin's and the run's problems, and the 202's Location.</summary>
    internal static RouteHandlerBuilder ProducesInvocationProblems(this RouteHandlerBuilder builder)
        => builder.ProducesBodyProblems().ProducesEnclaveProblems()
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity)
            .WithResponseHeader(StatusCodes.Status202Accepted, "Location", "The invocation's URL (GET /v1/invocations/{id}).");

    private static async Task<Results<Created<FunctionDeployed>, Ok<FunctionDeployed>, ProblemHttpResult>> DeployAsync(string name, HttpContext http, FunctionService functions, IOptions<ServerOptions> options)
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

    private static async Task<Ok<FunctionList>> ListAsync(HttpContext http, FunctionService functions)
    {
        var list = await functions.ListAsync(ScopeFilter.CallerOf(http).Tenant, http.RequestAborted);
        return TypedResults.Ok(new FunctionList([.. list.Select(f => new FunctionListItem(f.Name, f.LatestVersion, f.Measurement, f.Runtime, f.UpdatedAt))]));
    }

    private static async Task<Results<Ok<FunctionDetail>, ProblemHttpResult>> GetAsync(string name, HttpContext http, FunctionService functions)
    {
        var versions = FunctionValidation.IsValidName(name)
            ? await functions.GetVersionsAsync(ScopeFilter.CallerOf(http).Tenant, name, http.RequestAborted)
            : [];
        if (versions.Count == 0)
        {
            return FunctionService.NotFound();
        }

        return TypedResults.Ok(new FunctionDetail(name, [.. versions.Select(v =>
            new FunctionVersionInfo(v.Version, v.Measurement, v.Runtime, v.CreatedAt, JsonDocument.Parse(v.ManifestJson).RootElement.Clone()))]));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string name, HttpContext http, FunctionService functions)
    {
        var caller = ScopeFilter.CallerOf(http);
        if (FunctionValidation.IsValidName(name) && await functions.DeleteAsync(caller.Tenant, caller.KeyId, name, http.RequestAborted))
        {
            return TypedResults.NoContent();
        }

        return FunctionService.NotFound();
    }

    private static async Task<Results<Ok<InvocationSucceeded>, Accepted<InvocationAccepted>, ProblemHttpResult>> InvokeAsync(
        string name, [FromQuery, AllowedValues(FunctionInvoker.Sync, FunctionInvoker.Async)] string? mode, HttpContext http, FunctionInvoker invoker)
    {
        if (!FunctionValidation.IsValidName(name))
        {
            return FunctionService.NotFound();
        }

        if (FunctionInvoker.CheckMode(mode) is { } badMode)
        {
            return badMode;
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

        return await invoker.InvokeAsync(ScopeFilter.CallerOf(http), name, mode, invoke!, null, http.RequestAborted);
    }

    private static async Task<Results<Ok<InvocationInfo>, ProblemHttpResult>> GetInvocationAsync(string id, HttpContext http, InvocationService invocations, LargeRequests large)
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
            record.Version,
            record.Measurement,
            record.DurationMs,
            record.Warm,
            record.CreatedAt,
            record.CompletedAt)
        {
            Result = view.ResultJson,
            Error = record.ErrorCode is null ? null : new InvocationErrorInfo(record.ErrorCode, view.ErrorDetail ?? ""),
        });

        async Task<InvocationView?> EnterAndGetAsync()
        {
            await large.EnterAsync(http, length);
            return await invocations.GetAsync(tenant, id, http.RequestAborted);
        }
    }

    private static string StatusName(InvocationStatus status) => status switch
    {
        InvocationStatus.Running => InvocationStates.Running,
        InvocationStatus.Succeeded => InvocationStates.Succeeded,
        _ => InvocationStates.Failed,
    };
}
