using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Cloister.Protocol;

/// <summary>The one place frames become JSON and back (source-generated, no reflection).</summary>
internal static class FrameJson
{
    // Frames are never rendered as HTML: relaxed escaping writes non-ASCII text as its UTF-8 bytes (the default escapes
    // it as \uXXXX, two to six times larger), which keeps frames near the size of the values in them
    // (FrameLimits.JsonStringBytes is the bound).
    private static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public static byte[] Encode<T>(T value, JsonTypeInfo<T> type)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Writer))
        {
            JsonSerializer.Serialize(writer, value, type);
        }

        return buffer.WrittenSpan.ToArray();
    }

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
