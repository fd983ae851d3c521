namespace Cloister.Server.Hosting;

/// <summary>Writes files only the owner can read (mode 0600), created that way rather than chmod-ed after.</summary>
internal static class SecureFiles
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        // A stale temp file (or a planted symlink) is removed, not written through: CreateNew then makes a
        // fresh file with our mode instead of inheriting another file's permissions.
        var temp = path + ".tmp";
        File.Delete(temp);
        using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    public static void CreateDirectory(string path)
        => Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
}
