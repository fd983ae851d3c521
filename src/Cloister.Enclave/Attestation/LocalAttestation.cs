using System.Security.Cryptography;
using System.Text;
using Cloister.Attestation;
using Cloister.Attestation.Policy;

namespace Cloister.Enclave.Attestation;

/// <summary>
/// A worker identity with simulated evidence and the key broker release policy that accepts exactly it: the
/// wiring of an in-process partition (tests, benchmarks, <c>InProcessPartition</c>), where worker and broker
/// share a process and no TEE exists.
/// </summary>
/// <param name="Identity">The worker's identity (give it to the EnclaveHost, which disposes it).</param>
/// <param name="Policy">A policy allowing simulated evidence from this data directory's attester key and this worker measurement, for every tenant.</param>
public sealed record LocalAttestation(WorkerIdentity Identity, AttestationPolicyFile Policy)
{
    /// <summary>The measurement an in-process worker claims: SHA-384 of a fixed label (it has no separate build to measure).</summary>
    public static string InProcessMeasurement { get; } = Convert.ToHexStringLower(SHA384.HashData(Encoding.UTF8.GetBytes("cloister/in-process-worker/v1")));

    /// <summary>Load or create the simulated attester key in <paramref name="dataDirectory"/> and build the identity and its policy.</summary>
    public static LocalAttestation CreateSimulated(string dataDirectory)
    {
        var evidence = SimulatedEvidenceProvider.LoadOrCreate(dataDirectory, InProcessMeasurement);
        var policy = new AttestationPolicyFile
        {
            GeneratedBy = "in-process partition",
            Appraisal = new AppraisalPolicy { Id = "in-process-simulated", AllowedTees = new HashSet<TeeType> { TeeType.Simulated } },
            SimulatedAttesterKey = evidence.PublicKeyPem,
            Workers = [new WorkerRule(InProcessMeasurement, [AttestationPolicyFile.Any])],
        };
        return new LocalAttestation(new WorkerIdentity(evidence, InProcessMeasurement), policy);
    }
}
