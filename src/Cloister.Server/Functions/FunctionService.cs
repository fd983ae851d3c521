using Cloister.Functions;
using Cloister.Protocol;
using Cloister.Server.Http;
using Cloister.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;

namespace Cloister.Server.Functions;

/// <summary>Deploys, lists and deletes functions. Versions are immutable; the enclave is told when a function is deleted.</summary>
internal sealed class FunctionService(IFunctionStore store, EnclaveClient enclave, TimeProvider time, ILogger<FunctionService> log)
{
    public Task<DeployOutcome> DeployAsync(string tenantId, string actor, string name, ValidDeploy deploy, CancellationToken cancellationToken)
    {
        var candidate = new FunctionVersionRecord(
            tenantId, name, 0, deploy.Measurement, FunctionManifestJson.RuntimeName(deploy.Manifest.Runtime), deploy.CanonicalManifestJson, time.GetUtcNow());
        return store.DeployFunctionAsync(
            candidate,
            deploy.CanonicalBundle,
            created => new AuditEntry(tenantId, actor, "function.deploy", [name], $"version={created.Version} measurement={created.Measurement}"),
            cancellationToken);
    }

    public Task<IReadOnlyList<FunctionSummary>> ListAsync(string tenantId, CancellationToken cancellationToken)
        => store.ListFunctionsAsync(tenantId, cancellationToken);

    public Task<IReadOnlyList<FunctionVersionRecord>> GetVersionsAsync(string tenantId, string name, CancellationToken cancellationToken)
        => store.GetFunctionVersionsAsync(tenantId, name, cancellationToken);

    /// <summary>
    /// Which version runs. No pin: the latest. A version pin: that version (409 if it does not exist). A measurement pin:
    /// the latest, only if it still has that measurement (409 otherwise: the function changed since the caller looked).
    /// Both: they must name the same version (400 if they disagree).
    /// </summary>
    public async Task<(FunctionVersionRecord? Function, ProblemHttpResult? Problem)> ResolvePinAsync(string tenantId, string name, ValidInvoke invoke, CancellationToken cancellationToken)
    {
        var latest = await store.GetFunctionVersionAsync(tenantId, name, null, cancellationToken);
        if (latest is null)
        {
            return (null, NotFound());
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

    /// <summary>The measurement of every version of every function of the tenant (what the worker's attestation claims it serves).</summary>
    public Task<IReadOnlyList<string>> MeasurementsAsync(string tenantId, CancellationToken cancellationToken)
        => store.ListFunctionMeasurementsAsync(tenantId, cancellationToken);

    /// <summary>404 function-not-found.</summary>
    public static ProblemHttpResult NotFound()
        => Problems.NotFound("function-not-found", "Function not found", "No such function in this tenant.");

    private static ProblemHttpResult VersionMismatch(string detail)
        => Problems.Create(StatusCodes.Status409Conflict, "version-mismatch", "Version pin does not match", detail);

    /// <summary>
    /// Deletes the function (from then on it answers 404) and asks the enclave to retire its sandboxes and packages.
    /// The delete is committed first: a failed retire leaves idle sandboxes of a function nobody can invoke (they are
    /// shut down when idle), never an invocable function the caller was told is gone, so a retire failure is logged, not returned.
    /// </summary>
    public async Task<bool> DeleteAsync(string tenantId, string actor, string name, CancellationToken cancellationToken)
    {
        var measurements = await store.DeleteFunctionAsync(tenantId, name, new AuditEntry(tenantId, actor, "function.delete", [name]), cancellationToken);
        if (measurements is null)
        {
            return false;
        }

        try
        {
            await enclave.SendAsync<RetireFunctionResponse>(new RetireFunctionRequest(name, measurements) { TenantId = tenantId }, cancellationToken);
        }
        catch (EnclaveException e)
        {
            LogMessages.SandboxRetireFailed(log, e.Error.Code);
        }

        return true;
    }
}
