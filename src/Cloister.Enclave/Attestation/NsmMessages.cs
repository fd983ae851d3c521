using System.Diagnostics.CodeAnalysis;
using System.Formats.Cbor;

namespace Cloister.Enclave.Attestation;

/// <summary>
/// The two CBOR messages we exchange with the Nitro Secure Module (aws-nitro-enclaves-nsm-api, serde_cbor of its
/// Request and Response enums): <c>{"Attestation": {"user_data": bytes, "nonce": null, "public_key": null}}</c> and
/// <c>{"Attestation": {"document": bytes}}</c> or <c>{"Error": "ErrorCode"}</c>.
/// </summary>
/// <remarks>
/// Written and read with System.Formats.Cbor in Strict mode. The response parser takes exactly that shape: definite
/// lengths only (each item's kind is checked before it is read, so an indefinite-length one is refused), one
/// top-level entry, nothing after it; it never throws for malformed input.
/// </remarks>
internal static class NsmMessages
{
    /// <summary>The attestation request binding <paramref name="userData"/>.</summary>
    public static byte[] EncodeAttestationRequest(ReadOnlySpan<byte> userData)
    {
        // serde_cbor's field order, not a canonical one: Strict mode keeps it.
        var writer = new CborWriter(CborConformanceMode.Strict);
        writer.WriteStartMap(1);
        writer.WriteTextString("Attestation");
        writer.WriteStartMap(3);
        writer.WriteTextString("user_data");
        writer.WriteByteString(userData);
        writer.WriteTextString("nonce");
        writer.WriteNull();
        writer.WriteTextString("public_key");
        writer.WriteNull();
        writer.WriteEndMap();
        writer.WriteEndMap();
        return writer.Encode();
    }

    /// <summary>The attestation document from a response, or a reason (the NSM error code, or what is malformed).</summary>
    public static bool TryParseAttestationResponse(ReadOnlyMemory<byte> response, [NotNullWhen(true)] out byte[]? document, [NotNullWhen(false)] out string? error)
    {
        document = null;
        try
        {
            var reader = new CborReader(response, CborConformanceMode.Strict);
            if (!IsMap(reader, 1) || !TryText(reader, out var variant))
            {
                error = "nsm: the response is not a one-entry CBOR map";
                return false;
            }

            if (variant == "Error")
            {
                error = TryText(reader, out var code) && AtEnd(reader, 1) && code.Length <= 64 && code.All(char.IsAsciiLetterOrDigit)
                    ? "nsm: the module answered error " + code
                    : "nsm: the module answered a malformed error";
                return false;
            }

            if (variant != "Attestation" || !IsMap(reader, 1) || !TryText(reader, out var field) || field != "document"
                || reader.PeekState() != CborReaderState.ByteString)
            {
                error = "nsm: the response is not {\"Attestation\": {\"document\": bytes}}";
                return false;
            }

            var bytes = reader.ReadByteString();
            if (!AtEnd(reader, 2))
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
        catch (CborContentException)
        {
            error = "nsm: the response is not well-formed CBOR";
            return false;
        }
    }

    private static bool IsMap(CborReader reader, int entries)
        => reader.PeekState() == CborReaderState.StartMap && reader.ReadStartMap() == entries;

    private static bool TryText(CborReader reader, [NotNullWhen(true)] out string? text)
    {
        text = reader.PeekState() == CborReaderState.TextString ? reader.ReadTextString() : null;
        return text is not null;
    }

    /// <summary>Closes <paramref name="maps"/> open maps and checks that nothing follows.</summary>
    private static bool AtEnd(CborReader reader, int maps)
    {
        for (var i = 0; i < maps; i++)
        {
            if (reader.PeekState() != CborReaderState.EndMap)
            {
                return false;
            }

            reader.ReadEndMap();
        }

        return reader.BytesRemaining == 0;
    }
}
