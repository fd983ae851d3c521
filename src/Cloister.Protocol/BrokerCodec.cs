using System.Text.Json.Serialization;

namespace Cloister.Protocol;

/// <summary>Encodes and decodes key broker frames.</summary>
public static class BrokerCodec
{
    /// <summary>Encode a request.</summary>
    public static byte[] Encode(BrokerRequest request) => FrameJson.Encode(request, BrokerJsonContext.Default.BrokerRequest);

    /// <summary>Encode a response.</summary>
    public static byte[] Encode(BrokerResponse response) => FrameJson.Encode(response, BrokerJsonContext.Default.BrokerResponse);

    /// <summary>Decode a request; null if the frame is not a valid request.</summary>
    public static BrokerRequest? DecodeRequest(ReadOnlySpan<byte> frame) => FrameJson.Decode(frame, BrokerJsonContext.Default.BrokerRequest);

    /// <summary>Decode a response; null if the frame is not a valid response.</summary>
    public static BrokerResponse? DecodeResponse(ReadOnlySpan<byte> frame) => FrameJson.Decode(frame, BrokerJsonContext.Default.BrokerResponse);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BrokerRequest))]
[JsonSerializable(typeof(BrokerResponse))]
internal sealed partial class BrokerJsonContext : JsonSerializerContext;
