using System.Diagnostics.CodeAnalysis;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Cloister.Functions;

/// <summary>Size limits applied while a bundle is read, before anything is allocated for an entry.</summary>
/// <param name="MaxFiles">Most regular files (default 10,000).</param>
/// <param name="MaxTotalBytes">Most bytes of file content in all (default 64 MiB).</param>
/// <param name="MaxFileBytes">Most bytes in one file (default 32 MiB).</param>
public sealed record BundleLimits(int MaxFiles, long MaxTotalBytes, long MaxFileBytes)
{
    /// <summary>The limits deploys use: 10,000 files, 64 MiB in all, 32 MiB per file.</summary>
    public static BundleLimits Default { get; } = new(10_000, 64L * 1024 * 1024, 32L * 1024 * 1024);

    /// <summary>Most tar entries of any kind (files, directories, metadata): twice <see cref="MaxFiles"/> plus a few.</summary>
    public int MaxEntries => checked((MaxFiles * 2) + 16);

    /// <summary>
    /// Most bytes the decompressed tar stream may have: the content budget plus 2 KiB of headers and padding per
    /// entry and 1 MiB of slack. A gzip bomb stops here however small it is compressed.
    /// </summary>
    public long MaxExpandedBytes => MaxTotalBytes + (MaxEntries * 2048L) + (1024 * 1024);
}

/// <summary>One regular file of a bundle.</summary>
/// <param name="Path">Normalized relative path ('/'-separated, no '.', '..' or empty segments).</param>
/// <param name="Executable">Whether the owner-execute bit (0o100) is set; no other mode bit is kept.</param>
/// <param name="Content">The file's bytes.</param>
public sealed record BundleFile(string Path, bool Executable, ReadOnlyMemory<byte> Content);

/// <summary>
/// An immutable set of regular files: a function's code. Directories are implied by paths; links, devices,
/// owners and times do not exist here, so two archives of the same files are the same bundle.
/// </summary>
/// <remarks>
/// Every reader refuses absolute paths, "..", symbolic and hard links, devices and FIFOs, duplicate paths, a path that
/// is both a file and a directory, and anything beyond <see cref="BundleLimits"/> — checked against the entry header
/// before its content is read.
/// </remarks>
public sealed class FunctionBundle
{
    private static readonly UnixFileMode FileMode644 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private static readonly UnixFileMode FileMode755 =
        FileMode644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private readonly Dictionary<string, BundleFile> _byPath;

    private FunctionBundle(List<BundleFile> sortedFiles, long totalBytes)
    {
        Files = sortedFiles.AsReadOnly();
        TotalBytes = totalBytes;
        _byPath = sortedFiles.ToDictionary(f => f.Path, StringComparer.Ordinal);
    }

    /// <summary>The files, sorted by the bytes of their UTF-8 paths.</summary>
    public IReadOnlyList<BundleFile> Files { get; }

    /// <summary>The sum of the files' sizes.</summary>
    public long TotalBytes { get; }

    /// <summary>Finds a file by its normalized path.</summary>
    public bool TryGetFile(string path, [NotNullWhen(true)] out BundleFile? file) => _byPath.TryGetValue(path, out file);

    /// <summary>Builds a bundle from files in memory (paths are normalized and checked as for an archive).</summary>
    public static bool TryCreate(IEnumerable<BundleFile> files, BundleLimits? limits, [NotNullWhen(true)] out FunctionBundle? bundle, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(files);
        bundle = null;
        var builder = new Builder(limits ?? BundleLimits.Default);
        foreach (var file in files)
        {
            if (!builder.TryReserve(file.Path, file.Content.Length, out var path, out error))
            {
                return false;
            }

            builder.Add(path, file.Executable, file.Content);
        }

        return builder.TryBuild(out bundle, out error);
    }

    /// <summary>Reads a bundle from a gzip-compressed tar stream (ustar, pax, GNU or v7).</summary>
    /// <remarks>The stream is read, not disposed. A malformed archive is an error value, never an exception.</remarks>
    public static bool TryReadTarGz(Stream stream, BundleLimits? limits, [NotNullWhen(true)] out FunctionBundle? bundle, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(stream);
        limits ??= BundleLimits.Default;
        bundle = null;
        var gzip = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
        var bounded = new BoundedReadStream(gzip, limits.MaxExpandedBytes);
        try
        {
            using var reader = new TarReader(bounded, leaveOpen: true);
            var builder = new Builder(limits);
            var entries = 0;
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                if (++entries > limits.MaxEntries)
                {
                    error = $"bundle: more than {limits.MaxEntries} archive entries";
                    return false;
                }

                switch (entry.EntryType)
                {
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                        if (!builder.TryReserve(entry.Name, entry.Length, out var path, out error))
                        {
                            return false;
                        }

                        var content = new byte[entry.Length];
                        if (entry.Length > 0)
                        {
                            entry.DataStream!.ReadExactly(content);
                        }

                        builder.Add(path, (entry.Mode & UnixFileMode.UserExecute) != 0, content);
                        break;

                    case TarEntryType.Directory:
                        if (!builder.TryAddDirectory(entry.Name, out error))
                        {
                            return false;
                        }

                        break;

                    case TarEntryType.GlobalExtendedAttributes:
                        // Metadata only (git archive writes a commit id here); it never names a file.
                        break;

                    case TarEntryType.SymbolicLink:
                        error = $"bundle: '{Shown(entry.Name)}' is a symbolic link; only regular files are allowed";
                        return false;

                    case TarEntryType.HardLink:
                        error = $"bundle: '{Shown(entry.Name)}' is a hard link; only regular files are allowed";
                        return false;

                    case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                        error = $"bundle: '{Shown(entry.Name)}' is a device or FIFO; only regular files are allowed";
                        return false;

                    default:
                        error = $"bundle: '{Shown(entry.Name)}' has unsupported tar entry type {entry.EntryType}; only regular files and directories are allowed";
                        return false;
                }
            }

            return builder.TryBuild(out bundle, out error);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or IOException
            or ArgumentException or OverflowException or InvalidOperationException or NotSupportedException)
        {
            error = bounded.Exceeded
                ? $"bundle: the archive expands to more than {limits.MaxExpandedBytes} bytes; refused"
                : bounded.OversizedMetadata
                    ? $"bundle: a pax or GNU metadata entry declares more than {BoundedReadStream.MaxMetadataEntryBytes} bytes; refused"
                    : bounded.Unfollowable
                        ? "bundle: not a valid tar.gz archive (a header or pax record cannot be followed)"
                        : "bundle: not a valid tar.gz archive";
            return false;
        }
        finally
        {
            gzip.Dispose();
        }
    }

    /// <summary>Reads a bundle from a directory tree. Symbolic links anywhere in it are refused, not followed.</summary>
    public static bool TryReadDirectory(string directory, BundleLimits? limits, [NotNullWhen(true)] out FunctionBundle? bundle, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(directory);
        bundle = null;
        var builder = new Builder(limits ?? BundleLimits.Default);
        var root = new DirectoryInfo(directory);
        if (!root.Exists)
        {
            error = $"bundle: directory '{directory}' does not exist";
            return false;
        }

        var pending = new Stack<DirectoryInfo>();
        pending.Push(root);
        var options = new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = false, RecurseSubdirectories = false };
        try
        {
            while (pending.TryPop(out var current))
            {
                foreach (var info in current.EnumerateFileSystemInfos("*", options))
                {
                    var relative = Path.GetRelativePath(root.FullName, info.FullName).Replace(Path.DirectorySeparatorChar, '/');
                    if (info.LinkTarget is not null)
                    {
                        error = $"bundle: '{Shown(relative)}' is a symbolic link; only regular files are allowed";
                        return false;
                    }

                    if (info is DirectoryInfo sub)
                    {
                        pending.Push(sub);
                        continue;
                    }

                    var file = (FileInfo)info;
                    if (!UnixFileType.IsRegularFile(file.FullName))
                    {
                        error = $"bundle: '{Shown(relative)}' is a device, FIFO or socket; only regular files are allowed";
                        return false;
                    }

                    if (!builder.TryReserve(relative, file.Length, out var path, out error))
                    {
                        return false;
                    }

                    var content = new byte[file.Length];
                    using (var fs = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
                    {
                        fs.ReadExactly(content);
                        if (fs.ReadByte() != -1)
                        {
                            error = $"bundle: '{Shown(relative)}' changed while it was read";
                            return false;
                        }
                    }

                    var executable = !OperatingSystem.IsWindows() && (file.UnixFileMode & UnixFileMode.UserExecute) != 0;
                    builder.Add(path, executable, content);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"bundle: cannot read '{directory}': {e.Message}";
            return false;
        }

        return builder.TryBuild(out bundle, out error);
    }

    /// <summary>
    /// Writes the bundle as a deterministic tar.gz: pax entries for regular files only, sorted by path, mode 0644 or
    /// 0755, uid/gid 0, no owner names, mtime 0. The same bundle always gives the same tar bytes.
    /// </summary>
    public void WriteTarGz(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var gzip = new GZipStream(destination, CompressionLevel.Optimal, leaveOpen: true);
        using var writer = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
        foreach (var file in Files)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, file.Path)
            {
                Mode = file.Executable ? FileMode755 : FileMode644,
                Uid = 0,
                Gid = 0,
                ModificationTime = DateTimeOffset.UnixEpoch,
                DataStream = new MemoryStream(file.Content.ToArray(), writable: false),
            };
            writer.WriteEntry(entry);
        }
    }

    internal static byte[] Utf8(string path) => Encoding.UTF8.GetBytes(path);

    private static string Shown(string raw)
    {
        var s = raw.Length > 80 ? raw[..80] + "…" : raw;
        return new string(s.Select(ch => char.IsControl(ch) ? '?' : ch).ToArray());
    }

    /// <summary>Collects files, enforcing limits before content is allocated.</summary>
    private sealed class Builder(BundleLimits limits)
    {
        private readonly Dictionary<string, BundleFile> _files = new(StringComparer.Ordinal);
        private readonly HashSet<string> _directories = new(StringComparer.Ordinal);
        private long _totalBytes;

        public bool TryReserve(string rawPath, long length, [NotNullWhen(true)] out string? path, [NotNullWhen(false)] out string? error)
        {
            if (!BundlePath.TryNormalize(rawPath, out path, out var pathError))
            {
                error = $"bundle: {pathError}";
                return false;
            }

            if (_files.ContainsKey(path))
            {
                error = $"bundle: duplicate path '{Shown(path)}'";
                path = null;
                return false;
            }

            if (_files.Count >= limits.MaxFiles)
            {
                error = $"bundle: more than {limits.MaxFiles} files";
                path = null;
                return false;
            }

            if (length < 0 || length > limits.MaxFileBytes || length > Array.MaxLength)
            {
                error = $"bundle: '{Shown(path)}' is larger than {limits.MaxFileBytes} bytes";
                path = null;
                return false;
            }

            if (_totalBytes + length > limits.MaxTotalBytes)
            {
                error = $"bundle: files total more than {limits.MaxTotalBytes} bytes";
                path = null;
                return false;
            }

            _totalBytes += length;
            error = null;
            return true;
        }

        public void Add(string path, bool executable, ReadOnlyMemory<byte> content)
        {
            _files.Add(path, new BundleFile(path, executable, content));
            var slash = path.LastIndexOf('/');
            while (slash > 0)
            {
                path = path[..slash];
                if (!_directories.Add(path))
                {
                    break;
                }

                slash = path.LastIndexOf('/');
            }
        }

        public bool TryAddDirectory(string rawPath, [NotNullWhen(false)] out string? error)
        {
            error = null;
            if (BundlePath.IsRoot(rawPath))
            {
                return true;
            }

            if (!BundlePath.TryNormalize(rawPath, out var path, out var pathError))
            {
                error = $"bundle: {pathError}";
                return false;
            }

            _directories.Add(path);
            return true;
        }

        public bool TryBuild([NotNullWhen(true)] out FunctionBundle? bundle, [NotNullWhen(false)] out string? error)
        {
            bundle = null;
            foreach (var path in _files.Keys)
            {
                if (_directories.Contains(path))
                {
                    error = $"bundle: '{Shown(path)}' is both a file and a directory";
                    return false;
                }
            }

            var sorted = _files.Values
                .Select(f => (Key: Utf8(f.Path), File: f))
                .OrderBy(x => x.Key, Utf8Comparer.Instance)
                .Select(x => x.File)
                .ToList();
            bundle = new FunctionBundle(sorted, _totalBytes);
            error = null;
            return true;
        }
    }

    private sealed class Utf8Comparer : IComparer<byte[]>
    {
        public static readonly Utf8Comparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
