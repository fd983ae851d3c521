using System.Runtime.InteropServices;

namespace Cloister.Enclave.Attestation;

/// <summary>Chooses where the worker's evidence comes from.</summary>
public static partial class EvidenceProviders
{
    private const int WriteOk = 2;

    /// <summary>
    /// configfs-tsm (SEV-SNP or TDX) when its report directory exists and is writable, else the Nitro NSM device when
    /// present, else simulated evidence with the attester key in <paramref name="dataDirectory"/>.
    /// </summary>
    /// <param name="dataDirectory">The worker's data directory (simulated attester key).</param>
    /// <param name="workerMeasurement">The worker measurement (hex), for simulated evidence.</param>
    /// <param name="description">What was chosen and why, for the start-up log.</param>
    public static IEvidenceProvider Detect(string dataDirectory, string workerMeasurement, out string description)
    {
        return Detect(dataDirectory, workerMeasurement, ConfigfsTsmEvidenceProvider.DefaultRoot, NsmEvidenceProvider.DefaultDevicePath, out description);
    }

    internal static IEvidenceProvider Detect(string dataDirectory, string workerMeasurement, string configfsRoot, string nsmDevice, out string description)
    {
        string? configfsProblem = null;
        if (Directory.Exists(configfsRoot) && Access(configfsRoot, WriteOk) == 0)
        {
            var configfs = new ConfigfsTsmEvidenceProvider(configfsRoot);
            try
            {
                description = $"{configfs.Tee} evidence through configfs-tsm at {configfsRoot}";
                return configfs;
            }
            catch (EvidenceException e)
            {
                configfsProblem = $"; configfs-tsm at {configfsRoot} is unusable: {e.Message}";
            }
        }

        if (File.Exists(nsmDevice))
        {
            description = $"nitro evidence through the NSM device {nsmDevice}{configfsProblem}";
            return new NsmEvidenceProvider(nsmDevice);
        }

        var simulated = SimulatedEvidenceProvider.LoadOrCreate(dataDirectory, workerMeasurement);
        description = $"SIMULATED evidence (no TEE interface: neither {configfsRoot} nor {nsmDevice}{configfsProblem}), signed by {Path.Combine(dataDirectory, SimulatedEvidenceProvider.KeyFileName)}";
        return simulated;
    }

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Access(string path, int mode);
}
