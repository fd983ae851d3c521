using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Cloister.Storage;

/// <summary>
/// The audit chain's canonical encoding and MACs; the store's writer and <see cref="AuditVerifier"/> share it.
/// </summary>
/// <remarks>
/// <para>Entry MAC (32 bytes), with <c>mac(0)</c> = 32 zero bytes:</para>
/// <code>
/// mac(n) = HMAC-SHA256(audit.key, mac(n-1) ‖ 0x01 ‖ be64(seq) ‖ be64(at unix ms)
///                      ‖ opt(tenant) ‖ str(actor) ‖ str(action)
///                      ‖ be32(target count) ‖ str(target)… ‖ opt(detail))
/// str(s)    = be32(UTF-8 byte length) ‖ UTF-8 bytes
/// opt(null) = 0x00;  opt(s) = 0x01 ‖ str(s)
/// </code>
/// <para>
/// 0x01 is the encoding version. Every field is length-prefixed or fixed-size, so no two different
/// entries encode alike (moving bytes between fields changes the encoding), and null differs from "".
/// mac(n-1) binds each entry to its place: an edit, deletion, insertion or reordering breaks the MAC of
/// that entry or the next one. The encoding is at least 62 bytes, longer than any checkpoint input, so an
/// entry MAC can never be passed off as a checkpoint MAC or the reverse.
/// </para>
/// <para>
/// Checkpoint (<c>audit.head</c>, 72 bytes): <c>be64(seq) ‖ mac(seq) ‖ HMAC-SHA256(audit.key, "cloister-audit-head" ‖ be64(seq) ‖ mac(seq))</c>.
/// It lives outside the database so that deleting the last entries (which leaves a valid shorter chain) is seen.
/// </para>
/// </remarks>
internal static class AuditCodec
{
    public const int MacSize = 32;
    public const int HeadSize = 8 + MacSize + MacSize;
    private const byte EncodingVersion = 1;

    // Strings up to this many UTF-8 bytes are encoded on the stack; longer ones use a pooled buffer.
    private const int StackEncodeLimit = 256;

    private static ReadOnlySpan<byte> HeadLabel => "cloister-audit-head"u8;

    public static void ComputeEntryMac(
        IncrementalHash hmac,
        ReadOnlySpan<byte> previousMac,
        long seq,
        long atUnixMilliseconds,
        string? tenantId,
        string actor,
        string action,
        IReadOnlyList<string> targets,
        string? detail,
        Span<byte> destination)
    {
        Span<byte> fixedFields = stackalloc byte[17];
        fixedFields[0] = EncodingVersion;
        BinaryPrimitives.WriteInt64BigEndian(fixedFields[1..], seq);
        BinaryPrimitives.WriteInt64BigEndian(fixedFields[9..], atUnixMilliseconds);
        hmac.AppendData(previousMac);
        hmac.AppendData(fixedFields);
        AppendOptional(hmac, tenantId);
        AppendString(hmac, actor);
        AppendString(hmac, action);
        Span<byte> count = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(count, targets.Count);
        hmac.AppendData(count);
        for (var i = 0; i < targets.Count; i++)
        {
            AppendString(hmac, targets[i]);
        }

        AppendOptional(hmac, detail);
        Finish(hmac, destination);
    }

    public static void EncodeHead(IncrementalHash hmac, long seq, ReadOnlySpan<byte> mac, Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, seq);
        mac.CopyTo(destination[8..]);
        hmac.AppendData(HeadLabel);
        hmac.AppendData(destination[..(8 + MacSize)]);
        Finish(hmac, destination.Slice(8 + MacSize, MacSize));
    }

    /// <summary>Decodes a checkpoint; false if its size or MAC is wrong.</summary>
    public static bool TryDecodeHead(IncrementalHash hmac, ReadOnlySpan<byte> data, out long seq, out byte[] mac)
    {
        seq = 0;
        mac = [];
        if (data.Length != HeadSize)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacSize];
        hmac.AppendData(HeadLabel);
        hmac.AppendData(data[..(8 + MacSize)]);
        Finish(hmac, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, data.Slice(8 + MacSize, MacSize)))
        {
            return false;
        }

        seq = BinaryPrimitives.ReadInt64BigEndian(data);
        mac = data.Slice(8, MacSize).ToArray();
        return seq > 0;
    }

    private static void Finish(IncrementalHash hmac, Span<byte> destination)
    {
        if (hmac.GetHashAndReset(destination) != MacSize)
        {
            throw new InvalidOperationException("HMAC-SHA256 did not produce 32 bytes.");
        }
    }

    private static void AppendOptional(IncrementalHash hmac, string? value)
    {
        ReadOnlySpan<byte> absent = [0];
        ReadOnlySpan<byte> present = [1];
        if (value is null)
        {
            hmac.AppendData(absent);
            return;
        }

        hmac.AppendData(present);
        AppendString(hmac, value);
    }

    private static void AppendString(IncrementalHash hmac, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        Span<byte> prefix = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(prefix, length);
        hmac.AppendData(prefix);

        byte[]? rented = null;
        var buffer = length <= StackEncodeLimit ? stackalloc byte[StackEncodeLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = Encoding.UTF8.GetBytes(value, buffer);
            hmac.AppendData(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
