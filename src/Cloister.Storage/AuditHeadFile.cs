using System.Security.Cryptography;

namespace Cloister.Storage;

/// <summary>
/// The chain-head checkpoint <c>audit.head</c> (mode 0600), kept open by the writer and overwritten in
/// place after every commit that appended audit rows.
/// </summary>
/// <remarks>
/// Written only after the database COMMIT, so the checkpoint never runs ahead of a committed log; a
/// log behind the checkpoint therefore means entries were removed. 72 bytes at offset 0 is one
/// pwrite inside one page: cheap (no fsync unless <see cref="StoreOptions.FullSync"/>) and not torn
/// by a process kill.
/// </remarks>
internal sealed class AuditHeadFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly bool _flushToDisk;
    private readonly byte[] _buffer = new byte[AuditCodec.HeadSize];

    private AuditHeadFile(FileStream stream, bool flushToDisk)
    {
        _stream = stream;
        _flushToDisk = flushToDisk;
    }

    public static AuditHeadFile Open(string path, bool flushToDisk)
    {
        var stream = DataFiles.Open(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            DataFiles.RestrictToOwner(path);
            return new AuditHeadFile(stream, flushToDisk);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>What the file held at open.</summary>
    public HeadState ReadExisting(IncrementalHash hmac)
    {
        var length = RandomAccess.GetLength(_stream.SafeFileHandle);
        if (length == 0)
        {
            return new HeadState(HeadStatus.Empty, 0, []);
        }

        if (length != AuditCodec.HeadSize)
        {
            return new HeadState(HeadStatus.Invalid, 0, []);
        }

        var data = new byte[AuditCodec.HeadSize];
        var read = RandomAccess.Read(_stream.SafeFileHandle, data, 0);
        return read == data.Length && AuditCodec.TryDecodeHead(hmac, data, out var seq, out var mac)
            ? new HeadState(HeadStatus.Valid, seq, mac)
            : new HeadState(HeadStatus.Invalid, 0, []);
    }

    public void Write(IncrementalHash hmac, long seq, ReadOnlySpan<byte> mac)
    {
        AuditCodec.EncodeHead(hmac, seq, mac, _buffer);
        RandomAccess.Write(_stream.SafeFileHandle, _buffer, 0);
        if (_flushToDisk)
        {
            _stream.Flush(flushToDisk: true);
        }
    }

    public void Dispose() => _stream.Dispose();
}

internal enum HeadStatus
{
    Empty,
    Valid,
    Invalid,
}

internal readonly record struct HeadState(HeadStatus Status, long Seq, byte[] Mac);
