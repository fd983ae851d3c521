namespace Cloister.Enclave.Attestation;

/// <summary>The TEE interface could not produce evidence (the device or kernel refused, or answered malformed data).</summary>
/// <remarks>Messages name the interface and the failing step, never report data or evidence bytes.</remarks>
public sealed class EvidenceException : Exception
{
    /// <summary>An error with a message that names the step.</summary>
    public EvidenceException(string message)
        : base(message)
    {
    }

    /// <summary>An error caused by <paramref name="innerException"/>.</summary>
    public EvidenceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
