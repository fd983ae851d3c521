using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Cloister.Enclave.Attestation;

/// <summary>
/// The two CBOR messages we exchange with the Nitro Secure Module (aws-nitro-enclaves-nsm-api, serde_cbor of its
/// Request and Response enums): <c>{"Attestation": {"user_data": bytes, "nonce": null, "public_key": null}}</c> and
/// <c>{"Attestation": {"document": bytes}}</c> or <c>{"Error": "ErrorCode"}</c>.
/// </summary>
/// <remarks>
/// Only the CBOR this needs: definite-length maps, text and byte strings, null. The response parser is strict
/// (exactly one top-level entry, nothing after it) and bounded, and never throws for malformed input.
/// </remarks>
internal static class NsmMessages
{
    private const int MajorBytes = 2;
    private const int MajorText = 3;
    private const int MajorMap = 5;
    private const byte Null = 0xf6;

    /// <summary>The attestation request binding <paramref name="userData"/>.</summary>
    public static byte[] EncodeAttestationRequest(ReadOnlySpan<byte> userData)
    {
        using var buffer = new MemoryStream();
        WriteHead(buffer, MajorMap, 1);
        WriteText(buffer, "Attestation");
        WriteHead(buffer, MajorMap, 3);
        WriteText(buffer, "user_data");
        WriteHead(buffer, MajorBytes, (ulong)userData.Length);
        buffer.Write(userData);
        WriteText(buffer, "nonce");
        buffer.WriteByte(Null);
        WriteText(buffer, "public_key");
        buffer.WriteByte(Null);
        return buffer.ToArray();
    }

    /// <summary>The attestation document from a response, or a reason (the NSM error code, or what is malformed).</summary>
    public static bool TryParseAttestationResponse(ReadOnlySpan<byte> response, [NotNullWhen(true)] out byte[]? document, [NotNullWhen(false)] out string? error)
    {
        document = null;
        var reader = new Reader(response);
        if (!reader.TryHead(MajorMap, out ulong entries) || entries != 1 || !reader.TryText(out string? variant))
        {
            error = "nsm: the response is not a one-entry CBOR map";
            return false;
        }

        if (variant == "Error")
        {
            error = reader.TryText(out string? code) && reader.AtEnd && code.Length <= 64 && code.All(char.IsAsciiLetterOrDigit)
                ? "nsm: the module answered error " + code
                : "nsm: the module answered a malformed error";
            return false;
        }

        if (variant != "Attestation" || !reader.TryHead(MajorMap, out ulong fields) || fields != 1
            || !reader.TryText(out string? field) || field != "document" || !reader.TryBytes(out byte[]? bytes) || !reader.AtEnd)
        {
            error = "nsm: the response is not {\"Attestation\": {\"document\": bytes}}";
            return false;
        }

        if (bytes.Length == 0)
        {
            error = "nsm: the attestation document is empty";
            return false;
        }

        document = bytes;
        error = null;
        return true;
    }

    private static void WriteText(MemoryStream buffer, string text)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        WriteHead(buffer, MajorText, (ulong)utf8.Length);
        buffer.Write(utf8);
    }

    private static void WriteHead(MemoryStream buffer, int major, ulong argument)
    {
        byte initial = (byte)(major << 5);
        Span<byte> bytes = stackalloc byte[9];
        int length;
        if (argument < 24)
        {
            bytes[0] = (byte)(initial | (byte)argument);
            length = 1;
        }
        else if (argument <= byte.MaxValue)
        {
            bytes[0] = (byte)(initial | 24);
            bytes[1] = (byte)argument;
            length = 2;
        }
        else if (argument <= ushort.MaxValue)
        {
            bytes[0] = (byte)(initial | 25);
            BinaryPrimitives.WriteUInt16BigEndian(bytes[1..], (ushort)argument);
            length = 3;
        }
        else
        {
            bytes[0] = (byte)(initial | 26);
            BinaryPrimitives.WriteUInt32BigEndian(bytes[1..], checked((uint)argument));
            length = 5;
        }

        buffer.Write(bytes[..length]);
    }

    /// <summary>A bounds-checked reader of the few CBOR items a response holds.</summary>
    private ref struct Reader(ReadOnlySpan<byte> input)
    {
        private readonly ReadOnlySpan<byte> _input = input;
        private int _position;

        public readonly bool AtEnd => _position == _input.Length;

        public bool TryHead(int major, out ulong argument)
        {
            argument = 0;
            if (_position >= _input.Length || _input[_position] >> 5 != major)
            {
                return false;
            }

            int info = _input[_position++] & 0x1f;
            int size = info switch
            {
                < 24 => 0,
                24 => 1,
                25 => 2,
                26 => 4,
                27 => 8,
                _ => -1,
            };
            if (size < 0 || _input.Length - _position < size)
            {
                return false;
            }

            argument = size == 0 ? (ulong)info : 0;
            for (int i = 0; i < size; i++)
            {
                argument = (argument << 8) | _input[_position++];
            }

            return true;
        }

        public bool TryBytes([NotNullWhen(true)] out byte[]? value)
        {
            value = TryTake(MajorBytes, out ReadOnlySpan<byte> span) ? span.ToArray() : null;
            return value is not null;
        }

        public bool TryText([NotNullWhen(true)] out string? value)
        {
            value = null;
            if (!TryTake(MajorText, out ReadOnlySpan<byte> span))
            {
                return false;
            }

            try
            {
                value = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(span);
                return true;
            }
            catch (DecoderFallbackException)
            {
                return false;
            }
        }

        private bool TryTake(int major, out ReadOnlySpan<byte> span)
        {
            span = default;
            if (!TryHead(major, out ulong length) || length > (ulong)(_input.Length - _position))
            {
                return false;
            }

            span = _input.Slice(_position, (int)length);
            _position += (int)length;
            return true;
        }
    }
}
