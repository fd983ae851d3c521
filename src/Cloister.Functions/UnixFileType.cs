using System.Runtime.InteropServices;

namespace Cloister.Functions;

/// <summary>
/// The file type bits of a path, without following a final symbolic link. .NET reports FIFOs, sockets and
/// devices as ordinary files (FileAttributes.Normal), and opening a FIFO to read it would block, so the directory
/// reader asks the kernel: statx(2), whose struct layout is the same on every Linux architecture.
/// </summary>
internal static partial class UnixFileType
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int StatxSize = 256;
    private const int ModeOffset = 28;
    private const ushort TypeMask = 0xF000;
    private const ushort TypeRegular = 0x8000;

    /// <summary>
    /// Whether <paramref name="path"/> is a regular file. True where the check is not available (not Linux), where
    /// the .NET attributes are all there is.
    /// </summary>
    public static bool IsRegularFile(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        Span<byte> buffer = stackalloc byte[StatxSize];
        buffer.Clear();
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            // Cannot stat it: not something to read blindly.
            return false;
        }

        var mode = BitConverter.ToUInt16(buffer[ModeOffset..]);
        return (mode & TypeMask) == TypeRegular;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, ref byte statxBuffer);
}
