using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Api.Contracts;

/// <summary>
/// Carries a string that holds a JSON document as that JSON itself, not as an escaped string: a function's result of
/// up to 64 MiB travels at its own size (escaped, every quote would double). A JSON <c>null</c> reads back as the
/// string <c>"null"</c> (a handler that returned nothing); a C# null is left out by the frames' ignore condition.
/// </summary>
/// <remarks>
/// Here so that the router-worker frames (Cloister.Protocol) and the HTTP bodies write a result the same way, without parsing it into a document first. The
/// JSON schema exporter documents a property with this converter as any JSON value, as it does a <see cref="JsonElement"/>.
/// </remarks>
public sealed class RawJsonConverter : JsonConverter<string>
{
    public override bool HandleNull => true;

    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return document.RootElement.GetRawText();
    }

    /// <exception cref="ArgumentException">The string is not one JSON value.</exception>
    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteRawValue(value ?? "null");
    }
}
