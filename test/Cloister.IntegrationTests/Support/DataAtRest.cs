using System.Text;

namespace Cloister.IntegrationTests.Support;

/// <summary>A data directory as someone holding its files reads it, and the forms in which a value could be stored there.</summary>
public static class DataAtRest
{
    /// <summary>
    /// Every file under the directory (relative name → bytes), read raw and while the server may still run: the store's
    /// WAL and shared-memory index included. Lock files are left out: they are empty and held exclusively.
    /// </summary>
    public static async Task<Dictionary<string, byte[]>> ReadFilesAsync(string dataDirectory)
    {
        var files = new Dictionary<string, byte[]>();
        foreach (var file in Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var bytes = new MemoryStream();
            await stream.CopyToAsync(bytes);
            files[Path.GetRelativePath(dataDirectory, file)] = bytes.ToArray();
        }

        return files;
    }

    /// <summary>The forms of <paramref name="value"/> that <paramref name="content"/> holds (none, one would hope).</summary>
    public static IEnumerable<string> FormsIn(byte[] content, string value)
        => Forms(value).Where(form => content.AsSpan().IndexOf(form.Needle) >= 0).Select(form => form.Name);

    /// <summary>
    /// The byte strings a value could be stored as: UTF-8, UTF-16, lower-case hex, and base64 at each of the three
    /// alignments a value can have inside a longer base64 text (the characters of its whole 3-byte groups).
    /// </summary>
    public static IEnumerable<(string Name, byte[] Needle)> Forms(string value)
    {
        var utf8 = Encoding.UTF8.GetBytes(value);
        yield return ("UTF-8", utf8);
        yield return ("UTF-16", Encoding.Unicode.GetBytes(value));
        yield return ("hex", Encoding.ASCII.GetBytes(Convert.ToHexStringLower(utf8)));
        for (var skip = 0; skip < 3; skip++)
        {
            yield return ($"base64+{skip}", Encoding.ASCII.GetBytes(Convert.ToBase64String(utf8, skip, (utf8.Length - skip) / 3 * 3)));
        }
    }
}
