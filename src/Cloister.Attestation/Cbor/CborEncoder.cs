using System.Buffers.Binary;

namespace Cloister.Attestation.Cbor;

/// <summary>The few CBOR encodings a verifier writes: definite-length heads for signature structures.</summary>
internal static class CborEncoder
{
    /// <summary>Bytes a head with <paramref name="argument"/> takes (shortest form).</summary>
    public static int HeadLength(ulong argument) => argument switch
    {
        < 24 => 1,
        <= byte.MaxValue => 2,
        <= ushort.MaxValue => 3,
        <= uint.MaxValue => 5,
        _ => 9,
    };

    /// <summary>Writes the shortest head of <paramref name="major"/> with <paramref name="argument"/>; returns the bytes written.</summary>
    public static int WriteHead(Span<byte> destination, int major, ulong argument)
    {
        var type = (byte)(major << 5);
        switch (argument)
        {
            case < 24:
                destination[0] = (byte)(type | (byte)argument);
                return 1;
            case <= byte.MaxValue:
                destination[0] = (byte)(type | 24);
                destination[1] = (byte)argument;
                return 2;
            case <= ushort.MaxValue:
                destination[0] = (byte)(type | 25);
                BinaryPrimitives.WriteUInt16BigEndian(destination[1..], (ushort)argument);
                return 3;
            case <= uint.MaxValue:
                destination[0] = (byte)(type | 26);
                BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)argument);
                return 5;
            default:
                destination[0] = (byte)(type | 27);
                BinaryPrimitives.WriteUInt64BigEndian(destination[1..], argument);
                return 9;
        }
    }
}
