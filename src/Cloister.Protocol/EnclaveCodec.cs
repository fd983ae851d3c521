using System.Text.Json.Serialization;

namespace Cloister.Protocol;

/// <summary>Encodes and decodes enclave frames.</summary>
public static class EnclaveCodec
{
    /// <summary>Encode a request.</summary>
    public static byte[] Encode(EnclaveRequest request) => FrameJson.Encode(request, ProtocolJsonContext.Default.EnclaveRequest);

    /// <summary>Encode a response.</summary>
    public static byte[] Encode(EnclaveResponse response) => FrameJson.Encode(response, ProtocolJsonContext.Default.EnclaveResponse);

    /// <summary>Decode a request; null if the frame is not a valid request.</summary>
    public static EnclaveRequest? DecodeRequest(ReadOnlySpan<byte> frame) => FrameJson.Decode(frame, ProtocolJsonContext.Default.EnclaveRequest);

    /// <summary>Decode a response; null if the frame is not a valid response.</summary>
    public static EnclaveResponse? DecodeResponse(ReadOnlySpan<byte> frame) => FrameJson.Decode(frame, ProtocolJsonContext.Default.EnclaveResponse);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EnclaveRequest))]
[JsonSerializable(typeof(EnclaveResponse))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
