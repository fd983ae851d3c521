using System.Buffers.Binary;
using System.Text;

namespace Cloister.KeyBroker;

/// <summary>
/// The associated data bound into a wrapped tenant key, so that a wrapped key cannot be moved to
/// another tenant, purpose or version: the store (which the router controls) could otherwise swap rows.
/// </summary>
/// <remarks>
/// Layout: <c>lp("cloister/key/v1") ‖ lp(UTF-8 tenantId) ‖ lp(UTF-8 purpose) ‖ lp(version)</c>, where
/// <c>lp(x)</c> is the 4-byte big-endian length of x followed by x, and the version is a 4-byte
/// big-endian integer. Length prefixes make the encoding injective ("ab" ‖ "c" ≠ "a" ‖ "bc").
/// </remarks>
internal static class KeyWrapContext
{
    private static ReadOnlySpan<byte> Label => "cloister/key/v1"u8;

    public static byte[] Create(string tenantId, string purpose, int version)
    {
        var tenantLength = Encoding.UTF8.GetByteCount(tenantId);
        var purposeLength = Encoding.UTF8.GetByteCount(purpose);
        var buffer = new byte[(4 * 4) + Label.Length + tenantLength + purposeLength + sizeof(int)];
        var span = buffer.AsSpan();

        BinaryPrimitives.WriteInt32BigEndian(span, Label.Length);
        Label.CopyTo(span[4..]);
        span = span[(4 + Label.Length)..];

        BinaryPrimitives.WriteInt32BigEndian(span, tenantLength);
        Encoding.UTF8.GetBytes(tenantId, span[4..]);
        span = span[(4 + tenantLength)..];

        BinaryPrimitives.WriteInt32BigEndian(span, purposeLength);
        Encoding.UTF8.GetBytes(purpose, span[4..]);
        span = span[(4 + purposeLength)..];

        BinaryPrimitives.WriteInt32BigEndian(span, sizeof(int));
        BinaryPrimitives.WriteInt32BigEndian(span[4..], version);
        return buffer;
    }
}
