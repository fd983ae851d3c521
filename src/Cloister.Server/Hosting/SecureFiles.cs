using Cloister.Crypto;

namespace Cloister.Server.Hosting;

/// <summary>Writes files only the owner can read (mode 0600), created that way rather than chmod-ed after.</summary>
internal static class SecureFiles
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content) => OwnerOnlyFile.Write(path, content);

    public static void CreateDirectory(string path)
        => Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
}
