using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Protocol;

/// <summary>Encodes and decodes enclave frames (UTF-8 JSON, source-generated, no reflection).</summary>
public static class EnclaveCodec
{
    /// <summary>Encode a request.</summary>
    public static byte[] Encode(EnclaveRequest request)
        => JsonSerializer.SerializeToUtf8Bytes(request, ProtocolJsonContext.Default.EnclaveRequest);

    /// <summary>Encode a response.</summary>
    public static byte[] Encode(EnclaveResponse response)
        => JsonSerializer.SerializeToUtf8Bytes(response, ProtocolJsonContext.Default.EnclaveResponse);

    /// <summary>Decode a request; null if the frame is not a valid request.</summary>
    public static EnclaveRequest? DecodeRequest(ReadOnlySpan<byte> frame)
    {
        try
        {
            return JsonSerializer.Deserialize(frame, ProtocolJsonContext.Default.EnclaveRequest);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            // NotSupportedException: a frame without a known "$op" discriminator.
            return null;
        }
    }

    /// <summary>Decode a response; null if the frame is not a valid response.</summary>
    public static EnclaveResponse? DecodeResponse(ReadOnlySpan<byte> frame)
    {
        try
        {
            return JsonSerializer.Deserialize(frame, ProtocolJsonContext.Default.EnclaveResponse);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            // NotSupportedException: a frame without a known "$op" discriminator.
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EnclaveRequest))]
[JsonSerializable(typeof(EnclaveResponse))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
