using System.Runtime.Versioning;
using System.Security.Cryptography;
using Cloister.Crypto;
using Microsoft.Win32.SafeHandles;

namespace Cloister.KeyBroker;

/// <summary>
/// A master key kept in a file (<c>master.key</c>, 32 random bytes, mode 0600) in the data directory.
/// </summary>
/// <remarks>
/// The file is created on first use and loaded eagerly by the constructor, so that a missing,
/// damaged or over-permissive key stops the process at start-up with a clear message rather than at
/// the first request. The key is held by an <see cref="EnvelopeKey"/> (pinned, so the GC never copies
/// it) and zeroed by <see cref="Dispose"/>. POSIX only: the safety of the file rests on its mode bits.
/// </remarks>
public sealed class FileMasterKeyProvider : IMasterKeyProvider, IDisposable
{
    /// <summary>Size of the master key in bytes (AES-256).</summary>
    public const int KeySize = 32;

    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly EnvelopeKey _masterKey;

    /// <summary>Load the master key from <see cref="FileMasterKeyProviderOptions.KeyPath"/>, creating it if absent.</summary>
    /// <exception cref="KeyBrokerException">The key file cannot be created or read, has group/other permission bits, or is not 32 bytes.</exception>
    public FileMasterKeyProvider(FileMasterKeyProviderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.DataDirectory) || string.IsNullOrWhiteSpace(options.FileName))
        {
            throw new KeyBrokerException("The master key provider needs a data directory and a file name.");
        }

        if (OperatingSystem.IsWindows())
        {
            throw new KeyBrokerException("The file master key provider relies on POSIX file modes and does not run on Windows.");
        }

        KeyPath = Path.GetFullPath(options.KeyPath);
        try
        {
            if (!File.Exists(KeyPath))
            {
                Create(KeyPath);
            }

            var key = Load(KeyPath);
            try
            {
                _masterKey = new EnvelopeKey(key);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KeyBrokerException($"Cannot open the master key file {KeyPath}: {ex.Message}", ex);
        }
    }

    /// <summary>The absolute path of the key file.</summary>
    public string KeyPath { get; }

    /// <inheritdoc />
    public ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> associatedData, CancellationToken cancellationToken)
        => ValueTask.FromResult(_masterKey.Seal(key.Span, associatedData.Span));

    /// <inheritdoc />
    public ValueTask<byte[]?> UnwrapAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> associatedData, CancellationToken cancellationToken)
        => ValueTask.FromResult(_masterKey.TryOpen(wrapped.Span, associatedData.Span, out var key) ? key : null);

    /// <summary>Zero the master key held in memory.</summary>
    public void Dispose() => _masterKey.Dispose();

    [UnsupportedOSPlatform("windows")]
    private static void Create(string path)
    {
        var directory = Path.GetDirectoryName(path)!;

        // Only creates what is missing; an existing data directory keeps the mode its operator gave it.
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // Written to a temporary name and renamed, so master.key is either absent or complete: a crash
        // mid-write must not leave a short key file that the next start would refuse. If another process
        // created the key first, theirs is the one in use.
        var key = GC.AllocateArray<byte>(KeySize, pinned: true);
        try
        {
            RandomNumberGenerator.Fill(key);
            OwnerOnlyFile.TryCreate(path, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    [UnsupportedOSPlatform("windows")]
    private static byte[] Load(string path)
    {
        using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);

        // Checked on the open handle, not the path, so the file we read is the file we checked.
        var mode = File.GetUnixFileMode(handle);
        if ((mode & GroupOrOther) != 0)
        {
            throw new KeyBrokerException(
                $"The master key file {path} has mode {FormatMode(mode)}, which lets group or others access it. " +
                $"It must be readable by its owner only (0600): chmod 600 {path}");
        }

        var length = RandomAccess.GetLength(handle);
        if (length != KeySize)
        {
            throw new KeyBrokerException(
                $"The master key file {path} is {length} bytes long; a master key is exactly {KeySize} bytes. " +
                "Restore it from a backup: a new master key cannot unwrap the keys wrapped by the old one.");
        }

        var key = GC.AllocateArray<byte>(KeySize, pinned: true);
        var read = 0;
        while (read < KeySize)
        {
            var n = RandomAccess.Read(handle, key.AsSpan(read), read);
            if (n == 0)
            {
                CryptographicOperations.ZeroMemory(key);
                throw new KeyBrokerException($"The master key file {path} was truncated while it was read.");
            }

            read += n;
        }

        return key;
    }

    private static string FormatMode(UnixFileMode mode)
        => Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0');
}
