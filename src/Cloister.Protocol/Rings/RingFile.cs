using System.IO.MemoryMappedFiles;

namespace Cloister.Protocol.Rings;

/// <summary>
/// The mapped shared memory file: a 4 KiB header (docs/design/rings.md) followed by the data of the request
/// ring and the data of the response ring. Owns the mapping; the pointer stays valid until <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class RingFile : IDisposable
{
    public const long Magic = 0x31474E49525F4C43; // "CL_RING1" little-endian
    public const int Version = 2;
    public const int HeaderBytes = 4096;

    private const int MagicOffset = 0;
    private const int VersionOffset = 8;
    private const int SlotSizeOffset = 12;
    private const int SlotCountOffset = 16;
    private const int MaxMessageOffset = 20;
    private const int SpinOffset = 24;
    private const int ConcurrencyOffset = 28;
    private const int RouterPidOffset = 32;
    private const int WorkerPidOffset = 36;
    private const int RouterClosedOffset = 40;
    private const int WorkerClosedOffset = 44;
    private const int SleepOffset = 48;
    private const int InvocationsOffset = 52;
    private const int RequestControlOffset = 512;
    private const int ResponseControlOffset = 1024;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private int _disposed;

    private RingFile(MemoryMappedFile file, MemoryMappedViewAccessor view, RingOptions options)
    {
        _file = file;
        _view = view;
        Options = options;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + view.PointerOffset;
    }

    public RingOptions Options { get; }

    public ref int RouterPid => ref Int(RouterPidOffset);

    public ref int WorkerPid => ref Int(WorkerPidOffset);

    public ref int RouterClosed => ref Int(RouterClosedOffset);

    public ref int WorkerClosed => ref Int(WorkerClosedOffset);

    public static long FileLength(RingOptions options) => HeaderBytes + 2L * options.SlotSize * options.SlotCount;

    /// <summary>Create (or replace) the file at <paramref name="path"/> with mode 0600 and write the header.</summary>
    public static RingFile Create(string path, RingOptions options)
    {
        options.Validate();
        File.Delete(path); // a leftover from a previous worker: never share rings with it
        long length = FileLength(options);
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        stream.SetLength(length);
        var ring = Map(stream, length, options);
        ring.Int(VersionOffset) = Version;
        ring.Int(SlotSizeOffset) = options.SlotSize;
        ring.Int(SlotCountOffset) = options.SlotCount;
        ring.Int(MaxMessageOffset) = options.MaxMessageBytes;
        ring.Int(SpinOffset) = options.SpinMicroseconds;
        ring.Int(ConcurrencyOffset) = options.MaxConcurrency;
        ring.Int(SleepOffset) = options.SleepMilliseconds;
        ring.Int(InvocationsOffset) = options.MaxInvocations;
        ring.RouterPid = Environment.ProcessId;
        Volatile.Write(ref *(long*)ring._base, Magic); // last: a worker that sees the magic sees a complete header
        return ring;
    }

    /// <summary>Open a file the router created; validates the header against the file's length.</summary>
    public static RingFile Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        try
        {
            Span<byte> header = stackalloc byte[64];
            stream.ReadExactly(header);
            if (BitConverter.ToInt64(header) != Magic || BitConverter.ToInt32(header[VersionOffset..]) != Version)
            {
                throw new InvalidDataException("The file is not a Cloister ring file of version 2.");
            }

            var options = new RingOptions
            {
                SlotSize = BitConverter.ToInt32(header[SlotSizeOffset..]),
                SlotCount = BitConverter.ToInt32(header[SlotCountOffset..]),
                MaxMessageBytes = BitConverter.ToInt32(header[MaxMessageOffset..]),
                SpinMicroseconds = BitConverter.ToInt32(header[SpinOffset..]),
                MaxConcurrency = BitConverter.ToInt32(header[ConcurrencyOffset..]),
                SleepMilliseconds = BitConverter.ToInt32(header[SleepOffset..]),
                MaxInvocations = BitConverter.ToInt32(header[InvocationsOffset..]),
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentOutOfRangeException)
            {
                throw new InvalidDataException("The ring file's header holds sizes out of range.");
            }

            if (stream.Length != FileLength(options))
            {
                throw new InvalidDataException("The ring file's length does not match its header.");
            }

            return Map(stream, stream.Length, options);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The request ring (router produces, worker consumes).</summary>
    public SpscRing RequestRing() => Ring(RequestControlOffset, 0);

    /// <summary>The response ring (worker produces, router consumes).</summary>
    public SpscRing ResponseRing() => Ring(ResponseControlOffset, 1);

    /// <summary>Wake every sleeper on every futex word (used when a side closes).</summary>
    public void WakeAll()
    {
        RequestRing().WakeAll();
        ResponseRing().WakeAll();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }

    private static RingFile Map(FileStream stream, long length, RingOptions options)
    {
        var file = MemoryMappedFile.CreateFromFile(stream, null, length, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        try
        {
            return new RingFile(file, file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite), options);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private SpscRing Ring(int controlOffset, int index)
        => new(_base + controlOffset, _base + HeaderBytes + ((long)index * Options.SlotSize * Options.SlotCount), Options);

    private ref int Int(int offset) => ref *(int*)(_base + offset);
}
