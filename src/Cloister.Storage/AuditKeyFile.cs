using System.Security.Cryptography;

namespace Cloister.Storage;

/// <summary>
/// The audit MAC key: 32 random bytes in <c>audit.key</c> (mode 0600), beside the database but not in it,
/// so that someone who can write the database file but not this file cannot re-chain edited entries.
/// </summary>
internal static class AuditKeyFile
{
    public const int KeySize = 32;

    /// <summary>Loads the key, creating it on first use. The caller holds the store lock, so no one races the creation.</summary>
    public static byte[] LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            DataFiles.RestrictToOwner(path);
            return Load(path) ?? throw new VaultStoreException($"{DataFiles.AuditKey} is damaged (expected {KeySize} bytes); the audit log cannot be extended or verified without it.");
        }

        // Written to a temporary file and renamed, so a crash never leaves a short key behind.
        var temporary = path + ".tmp";
        File.Delete(temporary);
        var key = RandomNumberGenerator.GetBytes(KeySize);
        using (var stream = DataFiles.Open(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            stream.Write(key);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: false);
        return key;
    }

    /// <summary>The key, or null if the file is missing or not exactly 32 bytes.</summary>
    public static byte[]? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == KeySize)
        {
            return bytes;
        }

        CryptographicOperations.ZeroMemory(bytes);
        return null;
    }
}
