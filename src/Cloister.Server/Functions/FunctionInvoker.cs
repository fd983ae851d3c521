using Cloister.Protocol;
using Cloister.Storage;
using Cloister.Server.Auth;
using Cloister.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cloister.Server.Functions;

/// <summary>
/// What an invoke route does once its body is valid, plain or sealed: resolve the version that runs, begin the invocation
/// and run it, to its end (200 or the failure's problem) or in the background for <c>mode=async</c> (202).
/// </summary>
internal sealed class FunctionInvoker(FunctionService functions, InvocationService invocations)
{
    /// <summary>The values of the invoke routes' <c>mode</c> query parameter; absent means <see cref="Sync"/>.</summary>
    public const string Sync = "sync";

    public const string Async = "async";

    /// <summary>400 unless <paramref name="mode"/> is absent, <see cref="Sync"/> or <see cref="Async"/>.</summary>
    public static ProblemHttpResult? CheckMode(string? mode)
        => mode is null or "" or Sync or Async ? null : Problems.Invalid("'mode' must be sync (the default) or async.");

    public async Task<Results<Ok<InvocationSucceeded>, Accepted<InvocationAccepted>, ProblemHttpResult>> InvokeAsync(
        Caller caller, string name, string? mode, ValidInvoke pin, byte[]? sealedInput, CancellationToken cancellationToken)
    {
        var (function, pinProblem) = await functions.ResolvePinAsync(caller.Tenant, name, pin, cancellationToken);
        if (pinProblem is not null)
        {
            return pinProblem;
        }

        var (record, context) = await invocations.BeginAsync(caller.Tenant, caller.KeyId, function!, pin.ArgsJson, sealedInput, cancellationToken);
        if (mode == Async)
        {
            if (!invocations.RunInBackground(record, context))
            {
                return Problems.Create(StatusCodes.Status503ServiceUnavailable, "shutting-down", "Shutting down", "The server is stopping; retry the invocation.");
            }

            return TypedResults.Accepted($"/v1/invocations/{record.Id}", new InvocationAccepted(record.Id, InvocationStates.Running));
        }

        var done = await invocations.RunAsync(record, context);
        var ran = done.Record;
        if (ran.Status != InvocationStatus.Succeeded)
        {
            return Problem(done);
        }

        return TypedResults.Ok(new InvocationSucceeded(
            ran.Id, InvocationStates.Succeeded, done.ResultJson!, ran.FunctionName, ran.Version, ran.Measurement, ran.DurationMs ?? 0, ran.Warm, done.Logs));
    }

    /// <summary>A failed invocation as problem details: 422 when the function caused it, 503 when the platform cannot run it now, else 500.</summary>
    private static ProblemHttpResult Problem(InvocationView view)
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
}
