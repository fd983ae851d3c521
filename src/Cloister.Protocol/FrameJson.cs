using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Cloister.Protocol;

/// <summary>The one place frames become JSON and back (source-generated, no reflection).</summary>
internal static class FrameJson
{
    public static byte[] Encode<T>(T value, JsonTypeInfo<T> type) => JsonSerializer.SerializeToUtf8Bytes(value, type);

    /// <summary>The decoded frame, or null if it is not valid JSON for <typeparamref name="T"/>.</summary>
    public static T? Decode<T>(ReadOnlySpan<byte> frame, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(frame, type);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            // NotSupportedException: a frame without a known "$op" discriminator asks for the abstract base type.
            return null;
        }
    }
}
