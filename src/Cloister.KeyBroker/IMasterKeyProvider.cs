namespace Cloister.KeyBroker;

/// <summary>
/// Holds the master key (the key-encryption key) and wraps and unwraps tenant keys with it.
/// </summary>
/// <remarks>
/// The seam is the wrap/unwrap operation rather than "give me the master key" so that a KMS or HSM
/// provider can keep the master key inside the device. Implementations: <see cref="FileMasterKeyProvider"/>
/// (a file in the data dir) now; KMS/HSM providers later.
/// </remarks>
public interface IMasterKeyProvider
{
    /// <summary>Encrypt <paramref name="key"/> under the master key, binding <paramref name="associatedData"/>.</summary>
    ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> associatedData, CancellationToken cancellationToken);

    /// <summary>
    /// Decrypt a wrapped key; null when it does not authenticate under the master key and
    /// <paramref name="associatedData"/>. The caller owns the result and zeroes it after use.
    /// </summary>
    ValueTask<byte[]?> UnwrapAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> associatedData, CancellationToken cancellationToken);
}
