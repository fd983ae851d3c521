namespace Cloister.Enclave.Attestation;

/// <summary>Evidence from the TEE the worker runs in, as a verifier needs it.</summary>
/// <param name="Tee">The TEE name as in policies: "sev-snp", "tdx", "nitro" or "simulated".</param>
/// <param name="Bytes">The report, quote or attestation document.</param>
/// <param name="Certificates">Certificates the TEE returned beside it (e.g. the VCEK from configfs-tsm auxblob), DER or PEM.</param>
public sealed record WorkerEvidence(string Tee, byte[] Bytes, IReadOnlyList<byte[]> Certificates);

/// <summary>
/// Produces evidence binding 64 bytes of report data: configfs-tsm (SEV-SNP, TDX), /dev/nsm (Nitro),
/// or simulated evidence on a machine without a TEE.
/// </summary>
public interface IEvidenceProvider
{
    /// <summary>The TEE name this provider produces evidence for.</summary>
    string Tee { get; }

    /// <summary>Evidence whose report data (SNP REPORT_DATA, TDX REPORTDATA, Nitro user_data) is <paramref name="reportData"/> (64 bytes).</summary>
    ValueTask<WorkerEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken);
}
