using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Cloister.Functions.Tests;

public sealed class FunctionBundleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cloister-bundle-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ReadTarGz_RegularFilesAndDirectories_GivesSortedNormalizedFiles()
    {
        var bundle = TestArchives.Read(Archives.TarGz(w =>
        {
            Archives.Entry(w, TarEntryType.Directory, "./");
            Archives.Entry(w, TarEntryType.Directory, "./lib/");
            Archives.File(w, "./lib/util.py", "x = 1\n");
            Archives.File(w, "handler.py", "def handle(e, c): return e\n");
            Archives.File(w, "bin//tool", "#!/bin/sh\n", (UnixFileMode)0b111_101_101);
        }));

        Assert.Equal(["bin/tool", "handler.py", "lib/util.py"], bundle.Files.Select(f => f.Path));
        Assert.True(bundle.Files[0].Executable);
        Assert.False(bundle.Files[1].Executable);
        Assert.True(bundle.TryGetFile("lib/util.py", out var util));
        Assert.Equal("x = 1\n", Encoding.UTF8.GetString(util.Content.Span));
        Assert.Equal(bundle.Files.Sum(f => f.Content.Length), bundle.TotalBytes);
    }

    [Theory]
    [InlineData(TarEntryFormat.Ustar)]
    [InlineData(TarEntryFormat.Gnu)]
    [InlineData(TarEntryFormat.Pax)]
    public void ReadTarGz_EveryCommonFormat_IsAccepted(TarEntryFormat format)
    {
        var bundle = TestArchives.Read(Archives.TarGz(w => Archives.File(w, "handler.py", "pass\n", format: format), format));

        Assert.Single(bundle.Files);
    }

    [Theory]
    [InlineData("../evil.py", "'..'")]
    [InlineData("lib/../../evil.py", "'..'")]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData("a\\..\\b.py", "backslash")]
    [InlineData("a\u0007b.py", "control character")]
    public void ReadTarGz_UnsafePath_IsRefused(string name, string expected)
    {
        var archive = Archives.TarGz(w => Archives.File(w, name, "x"));

        Assert.False(TestArchives.TryRead(archive, out var bundle, out var error));
        Assert.Null(bundle);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TarEntryType.SymbolicLink, "symbolic link")]
    [InlineData(TarEntryType.HardLink, "hard link")]
    [InlineData(TarEntryType.CharacterDevice, "device or FIFO")]
    [InlineData(TarEntryType.BlockDevice, "device or FIFO")]
    [InlineData(TarEntryType.Fifo, "device or FIFO")]
    public void ReadTarGz_NonRegularEntry_IsRefused(TarEntryType type, string expected)
    {
        var archive = Archives.TarGz(w =>
        {
            Archives.File(w, "handler.py", "pass\n");
            Archives.Entry(w, type, "link.py", type is TarEntryType.SymbolicLink or TarEntryType.HardLink ? "/etc/shadow" : null);
        });

        Assert.False(TestArchives.TryRead(archive, out _, out var error));
        Assert.Equal($"bundle: 'link.py' is a {expected}; only regular files are allowed", error);
    }

    [Theory]
    [InlineData("handler.py", "handler.py")]
    [InlineData("handler.py", "./handler.py")]
    [InlineData("lib/a.py", "lib//a.py")]
    public void ReadTarGz_DuplicatePath_IsRefused(string first, string second)
    {
        var archive = Archives.TarGz(w =>
        {
            Archives.File(w, first, "one");
            Archives.File(w, second, "two");
        });

        Assert.False(TestArchives.TryRead(archive, out _, out var error));
        Assert.StartsWith("bundle: duplicate path", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadTarGz_PathThatIsFileAndDirectory_IsRefused()
    {
        var archive = Archives.TarGz(w =>
        {
            Archives.File(w, "lib", "one");
            Archives.File(w, "lib/a.py", "two");
        });

        Assert.False(TestArchives.TryRead(archive, out _, out var error));
        Assert.Equal("bundle: 'lib' is both a file and a directory", error);
    }

    [Fact]
    public void ReadTarGz_TooManyFiles_IsRefused()
    {
        var archive = Archives.TarGz(w =>
        {
            for (var i = 0; i < 11; i++)
            {
                Archives.File(w, $"f{i}.py", "");
            }
        });

        Assert.False(TestArchives.TryRead(archive, out _, out var error, new BundleLimits(10, 1024, 1024)));
        Assert.Equal("bundle: more than 10 files", error);
    }

    [Fact]
    public void ReadTarGz_TooManyDirectoryEntries_IsRefused()
    {
        var archive = Archives.TarGz(w =>
        {
            for (var i = 0; i < 100; i++)
            {
                Archives.Entry(w, TarEntryType.Directory, $"d{i}/");
            }
        });

        Assert.False(TestArchives.TryRead(archive, out _, out var error, new BundleLimits(10, 1024, 1024)));
        Assert.Equal("bundle: more than 36 archive entries", error);
    }

    [Fact]
    public void ReadTarGz_FileLargerThanTheLimit_IsRefusedFromItsHeader()
    {
        var archive = Archives.TarGz(w => Archives.File(w, "big.bin", new byte[2000]));

        Assert.False(TestArchives.TryRead(archive, out _, out var error, new BundleLimits(10, 10_000, 1000)));
        Assert.Equal("bundle: 'big.bin' is larger than 1000 bytes", error);
    }

    [Fact]
    public void ReadTarGz_TotalLargerThanTheLimit_IsRefused()
    {
        var archive = Archives.TarGz(w =>
        {
            Archives.File(w, "a.bin", new byte[600]);
            Archives.File(w, "b.bin", new byte[600]);
        });

        Assert.False(TestArchives.TryRead(archive, out _, out var error, new BundleLimits(10, 1000, 1000)));
        Assert.Equal("bundle: files total more than 1000 bytes", error);
    }

    [Fact]
    public void ReadTarGz_GzipBombOfOneHugeFile_IsRefusedFromItsHeaderWithoutExpandingIt()
    {
        // 256 MiB of zeros as one file compresses to about 256 KiB; the header alone condemns it.
        var bomb = GzipBomb(withHeader: true, zeroBytes: 256L << 20);
        Assert.True(bomb.Length < 2 * 1024 * 1024);

        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.False(TestArchives.TryRead(bomb, out _, out var error));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal($"bundle: 'bomb.bin' is larger than {BundleLimits.Default.MaxFileBytes} bytes", error);
        Assert.True(allocated < 4 * 1024 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void ReadTarGz_GzipBombBeyondTheExpansionBudget_IsRefused()
    {
        // Ten 200 KB global pax headers: each under the metadata cap, together past the decompression budget.
        var limits = new BundleLimits(4, 4096, 4096);
        var archive = Archives.TarGz(w =>
        {
            for (var i = 0; i < 10; i++)
            {
                w.WriteEntry(new PaxGlobalExtendedAttributesTarEntry(new Dictionary<string, string> { ["comment"] = new string('x', 200_000) }));
            }
        });

        Assert.False(TestArchives.TryRead(archive, out _, out var error, limits));
        Assert.Equal($"bundle: the archive expands to more than {limits.MaxExpandedBytes} bytes; refused", error);
    }

    [Fact]
    public void ReadTarGz_LargePaxHeader_IsRefused()
    {
        var archive = Archives.TarGz(w =>
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "a.py", new Dictionary<string, string> { ["comment"] = new string('x', 300_000) })));

        Assert.False(TestArchives.TryRead(archive, out _, out var error));
        Assert.Equal("bundle: a pax or GNU metadata entry declares more than 262144 bytes; refused", error);
    }

    [Theory]
    [InlineData((byte)'x', true)]
    [InlineData((byte)'g', true)]
    [InlineData((byte)'L', true)]
    [InlineData((byte)'K', true)]
    [InlineData((byte)'x', false)]
    public void ReadTarGz_MetadataHeaderDeclaringAGigabyte_IsRefusedWithoutAllocatingIt(byte type, bool validChecksum)
    {
        // TarReader allocates a metadata entry's declared size up front, even before it notices a bad checksum;
        // such a header must never reach it.
        var block = UstarHeader("a", 1L << 30, type);
        if (!validChecksum)
        {
            block[148] ^= 1;
        }

        var archive = Archives.Gzip([.. block, .. new byte[1 << 16]]);

        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.False(TestArchives.TryRead(archive, out _, out var error));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 4 * 1024 * 1024, $"allocated {allocated} bytes");
        Assert.Equal("bundle: a pax or GNU metadata entry declares more than 262144 bytes; refused", error);
    }

    [Fact]
    public void ReadTarGz_TruncatedOrGarbage_IsAnErrorValue()
    {
        var archive = Archives.TarGz(w => Archives.File(w, "handler.py", new byte[5000]));

        Assert.False(TestArchives.TryRead(archive[..(archive.Length / 2)], out _, out var truncated));
        Assert.Equal("bundle: not a valid tar.gz archive", truncated);
        Assert.False(TestArchives.TryRead("not gzip at all"u8.ToArray(), out _, out var garbage));
        Assert.Equal("bundle: not a valid tar.gz archive", garbage);
    }

    [Fact]
    public void ReadTarGz_MutatedArchives_NeverThrow()
    {
        var tar = Archives.Tar(writer =>
        {
            Archives.File(writer, "handler.py", "def handle(e, c):\n    return e\n");
            Archives.File(writer, "lib/util.py", "x = 1\n");
        });
        var random = new Random(4321);
        for (var i = 0; i < 3000; i++)
        {
            var mutated = (byte[])tar.Clone();
            for (var j = random.Next(1, 4); j > 0; j--)
            {
                // Mutate the headers mostly: that is where the parsing is.
                var at = random.Next(100) < 80 ? random.Next(512) : random.Next(mutated.Length);
                mutated[at] = (byte)random.Next(256);
            }

            var compressed = Archives.Gzip(mutated);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var ok = TestArchives.TryRead(compressed, out var bundle, out var error, new BundleLimits(16, 1 << 20, 1 << 20));
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(ok ? bundle is not null && error is null : bundle is null && error is not null);

            // A mutated size field must never make the reader allocate what the header claims.
            Assert.True(allocated < 8 * 1024 * 1024, $"iteration {i}: allocated {allocated} bytes");
        }
    }

    [Fact]
    public void ReadDirectory_GivesTheSameFilesAsTheTarGz()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "lib", "empty-dir"));
        File.WriteAllText(Path.Combine(_dir, "handler.py"), "def handle(e, c): return e\n");
        File.WriteAllText(Path.Combine(_dir, "lib", "util.py"), "x = 1\n");
        File.WriteAllBytes(Path.Combine(_dir, "tool"), TestArchives.ElfHeader());
        File.SetUnixFileMode(Path.Combine(_dir, "tool"), (UnixFileMode)0b111_101_101);

        Assert.True(FunctionBundle.TryReadDirectory(_dir, null, out var fromDir, out var error), error);

        var fromTar = TestArchives.Read(Archives.TarGz(w =>
        {
            Archives.File(w, "tool", TestArchives.ElfHeader(), (UnixFileMode)0b111_000_000);
            Archives.File(w, "lib/util.py", "x = 1\n");
            Archives.File(w, "handler.py", "def handle(e, c): return e\n");
        }));
        var manifest = TestArchives.Manifest("""{"runtime":"python3","entrypoint":"handler.py"}""");

        Assert.Equal(fromTar.Files.Select(f => (f.Path, f.Executable)), fromDir.Files.Select(f => (f.Path, f.Executable)));
        Assert.Equal(FunctionMeasurement.Compute(manifest, fromTar), FunctionMeasurement.Compute(manifest, fromDir));
    }

    [Fact]
    public void ReadDirectory_Symlink_IsRefused()
    {
        File.WriteAllText(Path.Combine(_dir, "handler.py"), "pass\n");
        File.CreateSymbolicLink(Path.Combine(_dir, "shadow"), "/etc/shadow");

        Assert.False(FunctionBundle.TryReadDirectory(_dir, null, out _, out var error));
        Assert.Equal("bundle: 'shadow' is a symbolic link; only regular files are allowed", error);
    }

    [Fact]
    public void ReadDirectory_SymlinkedDirectory_IsRefusedNotFollowed()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "code"));
        Directory.CreateSymbolicLink(Path.Combine(_dir, "code", "etc"), "/etc");

        Assert.False(FunctionBundle.TryReadDirectory(Path.Combine(_dir, "code"), null, out _, out var error));
        Assert.Equal("bundle: 'etc' is a symbolic link; only regular files are allowed", error);
    }

    [Fact]
    public void ReadDirectory_TooLarge_IsRefused()
    {
        File.WriteAllBytes(Path.Combine(_dir, "big.bin"), new byte[5000]);

        Assert.False(FunctionBundle.TryReadDirectory(_dir, new BundleLimits(10, 100_000, 1000), out _, out var error));
        Assert.Equal("bundle: 'big.bin' is larger than 1000 bytes", error);
    }

    [Fact]
    public void ReadDirectory_Missing_IsAnErrorValue()
    {
        Assert.False(FunctionBundle.TryReadDirectory(Path.Combine(_dir, "nope"), null, out _, out var error));
        Assert.StartsWith("bundle: directory", error, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteTarGz_IsDeterministicAndRoundTrips()
    {
        var bundle = TestArchives.Read(Archives.TarGz(w =>
        {
            Archives.File(w, "z.py", "z", uid: 1);
            Archives.File(w, "a/b.py", "b", uid: 2, mtime: DateTimeOffset.UtcNow);
            Archives.File(w, "run", "#!", (UnixFileMode)0b111_000_000);
        }));

        using var first = new MemoryStream();
        bundle.WriteTarGz(first);
        using var second = new MemoryStream();
        bundle.WriteTarGz(second);

        Assert.Equal(first.ToArray(), second.ToArray());
        var reread = TestArchives.Read(first.ToArray());
        Assert.Equal(bundle.Files.Select(f => (f.Path, f.Executable, Encoding.UTF8.GetString(f.Content.Span))),
            reread.Files.Select(f => (f.Path, f.Executable, Encoding.UTF8.GetString(f.Content.Span))));
    }

    [Fact]
    public void TryCreate_AppliesTheSameRules()
    {
        Assert.False(FunctionBundle.TryCreate([new BundleFile("../x", false, new byte[1])], null, out _, out var error));
        Assert.Contains("'..'", error, StringComparison.Ordinal);
        Assert.True(FunctionBundle.TryCreate([new BundleFile("./x", false, new byte[1])], null, out var bundle, out error), error);
        Assert.Equal("x", bundle.Files[0].Path);
    }

    /// <summary>A ustar header block with any size and type: the writer is given 1 byte, then the fields are patched.</summary>
    private static byte[] UstarHeader(string name, long size, byte type)
    {
        var block = Archives.Tar(writer => writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(new byte[1]) }), TarEntryFormat.Ustar)[..512];
        block[156] = type;
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(block, 124);
        Array.Fill(block, (byte)' ', 148, 8);
        Encoding.ASCII.GetBytes(Convert.ToString(block.Sum(b => (int)b), 8).PadLeft(6, '0') + "\0 ").CopyTo(block, 148);
        return block;
    }

    private static byte[] GzipBomb(bool withHeader, long zeroBytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            if (withHeader)
            {
                gzip.Write(UstarHeader("bomb.bin", zeroBytes, (byte)'0'));
            }

            var zeros = new byte[1 << 20];
            for (long written = 0; written < zeroBytes; written += zeros.Length)
            {
                gzip.Write(zeros);
            }
        }

        return output.ToArray();
    }
}

public class TarWalkerTests
{
    [Theory]
    [InlineData(TarEntryFormat.Pax)]
    [InlineData(TarEntryFormat.Gnu)]
    public void ReadTarGz_LongNamesUsingMetadataEntries_AreFollowed(TarEntryFormat format)
    {
        var longName = string.Join('/', Enumerable.Repeat("directory-name-of-some-length", 8)) + "/handler.py";
        var archive = Archives.TarGz(
            w =>
            {
                Archives.File(w, longName, "pass\n", format: format);
                Archives.File(w, "z.py", new byte[1000], format: format);
            },
            format);

        var bundle = TestArchives.Read(archive);

        Assert.Equal([longName, "z.py"], bundle.Files.Select(f => f.Path));
        Assert.Equal(1000, bundle.Files[1].Content.Length);
    }

    [Fact]
    public void ReadTarGz_PaxSizeOverride_IsFollowed()
    {
        // A pax "size" record overrides the ustar size field of the next entry.
        var archive = Archives.TarGz(w =>
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "a.py", new Dictionary<string, string> { ["size"] = "700" })
            {
                DataStream = new MemoryStream(new byte[700]),
            };
            w.WriteEntry(entry);
            Archives.File(w, "b.py", "pass\n");
        });

        var bundle = TestArchives.Read(archive);

        Assert.Equal(["a.py", "b.py"], bundle.Files.Select(f => f.Path));
    }

    [Fact]
    public void ReadTarGz_DirectoryEntryCarryingData_IsRefused()
    {
        var tar = Archives.Tar(writer => writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "dir") { DataStream = new MemoryStream(new byte[600]) }), TarEntryFormat.Ustar);
        tar[156] = (byte)'5';
        Array.Fill(tar, (byte)' ', 148, 8);
        Encoding.ASCII.GetBytes(Convert.ToString(tar.AsSpan(0, 512).ToArray().Sum(b => (int)b), 8).PadLeft(6, '0') + "\0 ").CopyTo(tar, 148);
        Assert.False(TestArchives.TryRead(Archives.Gzip(tar), out _, out var error));
        Assert.Equal("bundle: not a valid tar.gz archive (a header or pax record cannot be followed)", error);
    }
}

public sealed class DirectorySpecialFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cloister-bundle-special-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ReadDirectory_Fifo_IsRefusedWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        File.WriteAllText(Path.Combine(_dir, "handler.py"), "pass\n");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", Path.Combine(_dir, "pipe")))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        Assert.False(FunctionBundle.TryReadDirectory(_dir, null, out _, out var error));
        Assert.Equal("bundle: 'pipe' is a device, FIFO or socket; only regular files are allowed", error);
    }

    [Fact]
    public void ReadDirectory_RegularFiles_PassTheTypeCheck()
    {
        File.WriteAllText(Path.Combine(_dir, "handler.py"), "pass\n");

        Assert.True(FunctionBundle.TryReadDirectory(_dir, null, out var bundle, out var error), error);
        Assert.Single(bundle.Files);
    }
}
