namespace Cloister.Hosting;

/// <summary>Files in the data directory that more than one process names.</summary>
public static class DataFiles
{
    /// <summary>The key broker's attestation policy: <c>serve</c> writes the embedded default there, <c>keybroker</c> reads it by default.</summary>
    public const string AttestationPolicy = "attestation-policy.json";
}
