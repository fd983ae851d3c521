using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Cloister.TestSupport;

/// <summary>Builds tar and tar.gz archives entry by entry, including the hostile kinds a bundle reader must refuse.</summary>
public static class Archives
{
    /// <summary>A tar.gz of the given files (pax entries, as any tar tool would write them).</summary>
    public static byte[] TarGz(params (string Name, string Content)[] files)
        => TarGz(writer =>
        {
            foreach (var (name, content) in files)
            {
                File(writer, name, content);
            }
        });

    /// <summary>A tar.gz of what <paramref name="write"/> writes.</summary>
    public static byte[] TarGz(Action<TarWriter> write, TarEntryFormat format = TarEntryFormat.Pax) => Gzip(Tar(write, format));

    /// <summary>An uncompressed tar of what <paramref name="write"/> writes (to patch its headers before <see cref="Gzip"/>).</summary>
    public static byte[] Tar(Action<TarWriter> write, TarEntryFormat format = TarEntryFormat.Pax)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, format, leaveOpen: true))
        {
            write(writer);
        }

        return output.ToArray();
    }

    public static byte[] Gzip(ReadOnlySpan<byte> bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    public static void File(TarWriter writer, string name, string content, UnixFileMode mode = (UnixFileMode)0b110_100_100,
        int uid = 1000, DateTimeOffset? mtime = null, TarEntryFormat format = TarEntryFormat.Pax)
        => File(writer, name, Encoding.UTF8.GetBytes(content), mode, uid, mtime, format);

    public static void File(TarWriter writer, string name, byte[] content, UnixFileMode mode = (UnixFileMode)0b110_100_100,
        int uid = 1000, DateTimeOffset? mtime = null, TarEntryFormat format = TarEntryFormat.Pax)
    {
        ArgumentNullException.ThrowIfNull(writer);
        TarEntry entry = format switch
        {
            TarEntryFormat.Gnu => new GnuTarEntry(TarEntryType.RegularFile, name),
            TarEntryFormat.Ustar => new UstarTarEntry(TarEntryType.RegularFile, name),
            _ => new PaxTarEntry(TarEntryType.RegularFile, name),
        };
        entry.Mode = mode;
        entry.Uid = uid;
        entry.Gid = uid;
        entry.ModificationTime = mtime ?? new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);
        entry.DataStream = new MemoryStream(content);
        writer.WriteEntry(entry);
    }

    /// <summary>An entry with no data: a directory, link, device or FIFO.</summary>
    public static void Entry(TarWriter writer, TarEntryType type, string name, string? linkName = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var entry = new PaxTarEntry(type, name);
        if (linkName is not null)
        {
            entry.LinkName = linkName;
        }

        writer.WriteEntry(entry);
    }
}
