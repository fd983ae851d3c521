namespace Cloister.Crypto;

/// <summary>Files readable and writable by their owner only (mode 0600): keys, credentials, policies.</summary>
/// <remarks>
/// Files are created 0600, never chmod-ed after, and reach their name by one rename: a reader sees the old file or the
/// complete new one. A stale temporary file (or a planted symlink) is removed, not written through.
/// </remarks>
public static class OwnerOnlyFile
{
    /// <summary>Group and other permission bits: none may be set on an owner-only file.</summary>
    public const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Write <paramref name="content"/> to <paramref name="path"/> with mode 0600 unless the file exists. Returns false
    /// when another process created <paramref name="path"/> first: use theirs.
    /// </summary>
    public static bool TryCreate(string path, ReadOnlySpan<byte> content)
    {
        var temporary = WriteTemporary(path, content);
        try
        {
            File.Move(temporary, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
            return false;
        }
    }

    /// <summary>Replace <paramref name="path"/> (or create it) with <paramref name="content"/>, mode 0600, in one rename.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content)
        => File.Move(WriteTemporary(path, content), path, overwrite: true);

    /// <summary>
    /// Narrow <paramref name="path"/> to 0600 when group or others have any permission on it (written by an earlier
    /// version, or restored from a backup). Nothing happens when the file does not exist.
    /// </summary>
    public static void Restrict(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path) && (File.GetUnixFileMode(path) & GroupOrOthers) != 0)
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    /// <summary>The bytes in a new 0600 file beside <paramref name="path"/> (fsync'd); returns its name.</summary>
    private static string WriteTemporary(string path, ReadOnlySpan<byte> content)
    {
        var temporary = path + ".tmp";
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        return temporary;
    }
}
