namespace Cloister.IntegrationTests.Support;

/// <summary>A fresh directory under the system temp path, removed (best effort) on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    private TempDirectory(string path) => Path = path;

    public string Path { get; }

    public static TempDirectory Create(string purpose = "it")
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cloister-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
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

    public string File(string name) => System.IO.Path.Combine(Path, name);

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
