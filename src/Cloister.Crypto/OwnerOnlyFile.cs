namespace Cloister.Crypto;

/// <summary>Creates secret files (keys) readable by their owner only, atomically and without overwriting.</summary>
public static class OwnerOnlyFile
{
    /// <summary>
    /// Write <paramref name="content"/> to <paramref name="path"/> with mode 0600 unless the file exists. The bytes go
    /// to a temporary name first (created 0600, not chmod-ed after; fsync'd) and are renamed into place, so the file is
    /// either absent or complete. Returns false when another process created <paramref name="path"/> first: use theirs.
    /// </summary>
    public static bool TryCreate(string path, ReadOnlySpan<byte> content)
    {
        // A stale temp file (or a planted symlink) is removed, not written through.
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
}
