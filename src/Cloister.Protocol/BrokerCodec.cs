using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Protocol;

/// <summary>Encodes and decodes key broker frames (UTF-8 JSON, source-generated, no reflection).</summary>
public static class BrokerCodec
{
    /// <summary>Encode a request.</summary>
    public static byte[] Encode(BrokerRequest request)
        => JsonSerializer.SerializeToUtf8Bytes(request, BrokerJsonContext.Default.BrokerRequest);

    /// <summary>Encode a response.</summary>
    public static byte[] Encode(BrokerResponse response)
        => JsonSerializer.SerializeToUtf8Bytes(response, BrokerJsonContext.Default.BrokerResponse);

    /// <summary>Decode a request; null if the frame is not a valid request.</summary>
    public static BrokerRequest? DecodeRequest(ReadOnlySpan<byte> frame)
    {
        try
        {
            return JsonSerializer.Deserialize(frame, BrokerJsonContext.Default.BrokerRequest);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            // NotSupportedException: a frame without a known "$op" asks to instantiate the abstract base.
            return null;
        }
    }

    /// <summary>Decode a response; null if the frame is not a valid response.</summary>
    public static BrokerResponse? DecodeResponse(ReadOnlySpan<byte> frame)
    {
        try
        {
            return JsonSerializer.Deserialize(frame, BrokerJsonContext.Default.BrokerResponse);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BrokerRequest))]
[JsonSerializable(typeof(BrokerResponse))]
internal sealed partial class BrokerJsonContext : JsonSerializerContext;
