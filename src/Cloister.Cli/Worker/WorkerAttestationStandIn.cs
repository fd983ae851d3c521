using System.Security.Cryptography;
using System.Text;
using Cloister.Enclave.Attestation;

namespace Cloister.Cli.Worker;

// TEMPORARY STAND-IN (procs branch only): replaced by the crypto helper's EvidenceProviders.Detect and
// WorkerMeasurement.Compute (src/Cloister.Enclave/Attestation) when they land on main.
internal static class WorkerAttestationStandIn
{
    public static string ComputeMeasurement(string appDirectory, string configuration)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
        foreach (var file in Directory.GetFiles(appDirectory, "Cloister*.dll").Order(StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file)));
            hash.AppendData(File.ReadAllBytes(file));
        }

        hash.AppendData(Encoding.UTF8.GetBytes(configuration));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static IEvidenceProvider Detect(string dataDirectory, string measurement, out string description)
    {
        description = "simulated (stand-in detection: configfs-tsm and /dev/nsm are not probed yet)";
        return SimulatedEvidenceProvider.LoadOrCreate(dataDirectory, measurement);
    }
}
