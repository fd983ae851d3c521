using Cloister.Functions;
using Cloister.Protocol;
using Cloister.Storage;
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
