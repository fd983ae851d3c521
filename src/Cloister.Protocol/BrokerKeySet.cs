using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Cloister.Protocol;

/// <summary>
/// An unwrapped tenant key, in memory only: it crosses the broker boundary solely inside a sealed
/// <see cref="UnwrapKeysResponse"/>. Whoever holds one zeroes <paramref name="Key"/> when done.
/// </summary>
public sealed record UnwrappedKey(string Purpose, int Version, byte[] Key);

/// <summary>
/// The plaintext of <see cref="UnwrapKeysResponse.SealedKeys"/> and the associated data that binds it to a
/// tenant and a session, shared by the broker (seals) and the enclave (opens).
/// </summary>
/// <remarks>
/// Encoding: <c>0x01 ‖ count (2 bytes BE) ‖ count × (purpose length (1) ‖ purpose UTF-8 ‖ version (4 bytes BE) ‖
/// key length (1) ‖ key)</c>; nothing may follow. Associated data: <c>lp("cloister/broker-keys/v1") ‖ lp(tenant id) ‖
/// lp(session)</c>, lp = 4-byte BE length then UTF-8, so a box sealed for one tenant or session does not open for another.
/// </remarks>
public static class BrokerKeySet
{
    /// <summary>The SealedBox purpose (HPKE info "cloister/broker-keys/v1").</summary>
    public const string SealPurpose = "broker-keys";

    private const byte FormatVersion = 1;

    private const int MaxKeys = ushort.MaxValue;

    /// <summary>The associated data binding a sealed key set to <paramref name="tenantId"/> and <paramref name="session"/>.</summary>
    public static byte[] AssociatedData(string tenantId, string session)
    {
        ArgumentNullException.ThrowIfNull(tenantId);
        ArgumentNullException.ThrowIfNull(session);
        using var buffer = new MemoryStream();
        WriteLengthPrefixed(buffer, "cloister/broker-keys/v1");
        WriteLengthPrefixed(buffer, tenantId);
        WriteLengthPrefixed(buffer, session);
        return buffer.ToArray();
    }

    /// <summary>Encode <paramref name="keys"/> into a pinned buffer the caller zeroes after sealing it.</summary>
    public static byte[] Encode(IReadOnlyList<UnwrappedKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count > MaxKeys)
        {
            throw new ArgumentException($"at most {MaxKeys} keys", nameof(keys));
        }

        var size = 3;
        foreach (var key in keys)
        {
            var purposeLength = Encoding.UTF8.GetByteCount(key.Purpose);
            if (purposeLength > byte.MaxValue || key.Key.Length > byte.MaxValue)
            {
                throw new ArgumentException("a purpose or key is longer than 255 bytes", nameof(keys));
            }

            size += 1 + purposeLength + 4 + 1 + key.Key.Length;
        }

        var buffer = GC.AllocateArray<byte>(size, pinned: true);
        var span = buffer.AsSpan();
        span[0] = FormatVersion;
        BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)keys.Count);
        span = span[3..];
        foreach (var key in keys)
        {
            var purposeLength = Encoding.UTF8.GetBytes(key.Purpose, span[1..]);
            span[0] = (byte)purposeLength;
            span = span[(1 + purposeLength)..];
            BinaryPrimitives.WriteInt32BigEndian(span, key.Version);
            span[4] = (byte)key.Key.Length;
            key.Key.CopyTo(span[5..]);
            span = span[(5 + key.Key.Length)..];
        }

        return buffer;
    }

    /// <summary>Decode a key set; the keys are fresh pinned arrays the caller zeroes. False (nothing allocated survives) when malformed.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, [NotNullWhen(true)] out IReadOnlyList<UnwrappedKey>? keys)
    {
        keys = null;
        if (encoded.Length < 3 || encoded[0] != FormatVersion)
        {
            return false;
        }

        var count = BinaryPrimitives.ReadUInt16BigEndian(encoded[1..]);
        var rest = encoded[3..];
        var decoded = new List<UnwrappedKey>(Math.Min((int)count, 64));
        for (var i = 0; i < count; i++)
        {
            if (rest.Length < 1 || rest.Length < 1 + rest[0] + 5)
            {
                Zero(decoded);
                return false;
            }

            var purpose = Encoding.UTF8.GetString(rest.Slice(1, rest[0]));
            rest = rest[(1 + rest[0])..];
            var version = BinaryPrimitives.ReadInt32BigEndian(rest);
            var keyLength = rest[4];
            if (rest.Length < 5 + keyLength)
            {
                Zero(decoded);
                return false;
            }

            var key = GC.AllocateArray<byte>(keyLength, pinned: true);
            rest.Slice(5, keyLength).CopyTo(key);
            decoded.Add(new UnwrappedKey(purpose, version, key));
            rest = rest[(5 + keyLength)..];
        }

        if (!rest.IsEmpty)
        {
            Zero(decoded);
            return false;
        }

        keys = decoded;
        return true;
    }

    /// <summary>Zero every key in <paramref name="keys"/>.</summary>
    public static void Zero(IEnumerable<UnwrappedKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            CryptographicOperations.ZeroMemory(key.Key);
        }
    }

    private static void WriteLengthPrefixed(MemoryStream buffer, string text)
    {
        Span<byte> length = stackalloc byte[4];
        var bytes = Encoding.UTF8.GetBytes(text);
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        buffer.Write(length);
        buffer.Write(bytes);
    }
}
