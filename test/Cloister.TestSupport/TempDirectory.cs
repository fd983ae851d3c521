namespace Cloister.TestSupport;

/// <summary>A fresh directory under the system temp path, removed (best effort) on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    private TempDirectory(string path) => Path = path;

    public string Path { get; }

    /// <summary>
    /// Creates <c>cloister-{purpose}-{guid}</c> in the temp directory. With <paramref name="sandboxReadable"/> it is mode
    /// 0755 whatever the umask, so that a sandbox running as another uid can read what the test puts there.
    /// </summary>
    public static TempDirectory Create(string purpose = "test", bool sandboxReadable = false)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cloister-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        if (sandboxReadable)
        {
            System.IO.File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        return new TempDirectory(path);
    }

    /// <summary>Copies every file of <paramref name="source"/> (not recursive) into a new temporary directory.</summary>
    public static TempDirectory CopyOf(string source, string purpose = "copy")
    {
        var copy = Create(purpose);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            System.IO.File.Copy(file, System.IO.Path.Combine(copy.Path, System.IO.Path.GetFileName(file)));
        }

        return copy;
    }

    /// <summary>The path of <paramref name="name"/> in this directory.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="content"/> to <paramref name="relative"/> (creating its folders); returns the full path.</summary>
    public string Write(string relative, string content)
    {
        var full = File(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process that was just killed may still hold a file for a moment; the temp dir is disposable anyway.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
