using Cloister.Protocol;
using Cloister.Protocol.Attestation;
using Cloister.Server.Functions;

namespace Cloister.Server.Sealed;

/// <summary>
/// The enclave worker's attestation for a client's nonce: evidence bound to canonical claims that name the worker's key and
/// the measurements of the caller's functions it serves.
/// </summary>
internal sealed class WorkerAttestation(EnclaveClient enclave, FunctionService functions)
{
    /// <summary>The evidence and claims; null when the worker's claims are not canonical (a broken worker, never the caller).</summary>
    public async Task<WorkerAttestationInfo?> AttestAsync(string tenantId, byte[] nonce, CancellationToken cancellationToken)
    {
        var measurements = await functions.MeasurementsAsync(tenantId, cancellationToken);
        var response = await enclave.SendAsync<AttestationResponse>(new AttestationRequest(nonce, measurements) { TenantId = tenantId }, cancellationToken);
        if (!WorkerClaims.TryParse(response.Claims, out var claims, out _))
        {
            return null;
        }

        return new WorkerAttestationInfo(
            response.Tee,
            Convert.ToBase64String(response.Evidence),
            [.. response.Certificates.Select(Convert.ToBase64String)],
            Convert.ToBase64String(response.Claims),
            Convert.ToHexStringLower(claims.PublicKey));
    }
}
