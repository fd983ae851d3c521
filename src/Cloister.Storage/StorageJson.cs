using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Storage;

/// <summary>String lists (scopes, audit targets) are stored as JSON arrays; source-generated, no reflection.</summary>
[JsonSerializable(typeof(string[]))]
internal sealed partial class StorageJsonContext : JsonSerializerContext
{
    public static string Serialize(IReadOnlyList<string> values)
        => JsonSerializer.Serialize(values as string[] ?? [.. values], Default.StringArray);

    /// <summary>Parses a stored JSON array of strings; throws <see cref="JsonException"/> if it is not one.</summary>
    public static string[] Parse(string json)
    {
        var values = JsonSerializer.Deserialize(json, Default.StringArray) ?? throw new JsonException("Expected a JSON array, found null.");
        foreach (var value in values)
        {
            if (value is null)
            {
                throw new JsonException("Expected a JSON array of strings, found a null element.");
            }
        }

        return values;
    }
}
