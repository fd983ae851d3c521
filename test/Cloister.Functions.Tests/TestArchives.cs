using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Cloister.Functions.Tests;

/// <summary>Builds tar.gz archives entry by entry, including the hostile kinds a reader must refuse.</summary>
internal static class TestArchives
{
    public static byte[] TarGz(Action<TarWriter> write, TarEntryFormat format = TarEntryFormat.Pax)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new TarWriter(gzip, format, leaveOpen: true))
        {
            write(writer);
        }

        return output.ToArray();
    }

    public static void File(TarWriter writer, string name, string content, UnixFileMode mode = (UnixFileMode)0b110_100_100,
        int uid = 1000, DateTimeOffset? mtime = null, TarEntryFormat format = TarEntryFormat.Pax)
        => File(writer, name, Encoding.UTF8.GetBytes(content), mode, uid, mtime, format);

    public static void File(TarWriter writer, string name, byte[] content, UnixFileMode mode = (UnixFileMode)0b110_100_100,
        int uid = 1000, DateTimeOffset? mtime = null, TarEntryFormat format = TarEntryFormat.Pax)
    {
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

    public static void Entry(TarWriter writer, TarEntryType type, string name, string? linkName = null)
    {
        var entry = new PaxTarEntry(type, name);
        if (linkName is not null)
        {
            entry.LinkName = linkName;
        }

        writer.WriteEntry(entry);
    }

    public static bool TryRead(byte[] tarGz, out FunctionBundle? bundle, out string? error, BundleLimits? limits = null)
    {
        using var stream = new MemoryStream(tarGz);
        return FunctionBundle.TryReadTarGz(stream, limits, out bundle, out error);
    }

    public static FunctionBundle Read(byte[] tarGz)
    {
        Assert.True(TryRead(tarGz, out var bundle, out var error), error);
        return bundle!;
    }

    public static FunctionManifest Manifest(string json)
    {
        Assert.True(FunctionManifestJson.TryParse(json, out var manifest, out var error), error);
        return manifest;
    }

    /// <summary>A minimal x86-64 ELF header (ET_EXEC), padded to 64 bytes: enough for the runtime check.</summary>
    public static byte[] ElfHeader(ushort machine = 62, byte elfClass = 2)
    {
        var bytes = new byte[128];
        bytes[0] = 0x7F;
        bytes[1] = (byte)'E';
        bytes[2] = (byte)'L';
        bytes[3] = (byte)'F';
        bytes[4] = elfClass;
        bytes[5] = 1;
        bytes[6] = 1;
        bytes[16] = 2;
        bytes[18] = (byte)machine;
        bytes[19] = (byte)(machine >> 8);
        return bytes;
    }
}
