using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.Unicode;

namespace Cloister.Server.Http;

/// <summary>What <see cref="StrictJson.Check"/> refused: <c>duplicate-field</c>, <c>unknown-field</c> or <c>malformed-json</c> (a name or string that is not valid Unicode), at a JSON path.</summary>
internal sealed record JsonRefusal(string Code, string Path, string? Suggestion = null);

/// <summary>
/// The member rules of every request body, checked on the bytes before they are bound: no object may name a member twice
/// (System.Text.Json would keep the last, so two readers of one body could disagree), and the members of a DTO must be
/// its own, spelled exactly (no case folding: <c>"TTLSeconds"</c> must not quietly bind, or quietly not bind, to
/// <c>ttlSeconds</c>). Free-form members (<c>metadata</c>, <c>args</c>, <c>manifest</c>, <c>policy</c>) may hold any
/// names, each once. The manifest parser (<c>FunctionManifestJson</c>) holds manifests to the same rules.
/// </summary>
/// <remarks>
/// A path names members only when they look like identifiers: a client-chosen member name could be a value, and a
/// problem's detail never echoes one.
/// </remarks>
internal static class StrictJson
{
    private const int MaxPrintableName = 64;

    /// <summary>The first refusal in document order, or null when the rules hold or the JSON is malformed (binding reports that).</summary>
    public static JsonRefusal? Check(ReadOnlySequence<byte> utf8Json, JsonTypeInfo type)
    {
        var reader = new Utf8JsonReader(utf8Json, ReaderOptions(type.Options));
        var path = new List<PathSegment>();
        try
        {
            return reader.Read() ? CheckValue(ref reader, type, path) : null;
        }
        catch (JsonException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            // A member name or string with an escape that is not Unicode (a lone surrogate such as "\ud800").
            return new JsonRefusal("malformed-json", PathOf(path));
        }
    }

    private static JsonRefusal? CheckValue(ref Utf8JsonReader reader, JsonTypeInfo? type, List<PathSegment> path)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject when type is { Kind: JsonTypeInfoKind.Object }:
                return CheckDto(ref reader, type, path);
            case JsonTokenType.StartObject:
                return CheckFreeForm(ref reader, path);
            case JsonTokenType.StartArray:
                var element = type is { Kind: JsonTypeInfoKind.Enumerable, ElementType: { } elementType } ? InfoOf(type.Options, elementType) : null;
                for (var index = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; index++)
                {
                    path.Add(new PathSegment(null, index));
                    if (CheckValue(ref reader, element, path) is { } refusal)
                    {
                        return refusal;
                    }

                    path.RemoveAt(path.Count - 1);
                }

                return null;
            case JsonTokenType.String when reader.ValueIsEscaped:
                // An escape that is not Unicode (a lone surrogate) would bind to a string no encoder accepts later:
                // GetString throws for it, caught in Check as malformed JSON at this path.
                _ = reader.GetString();
                return null;
            case JsonTokenType.String when !IsUtf8(ref reader):
                // Nor may raw bytes that are not UTF-8: the reader passes them, a JsonElement bound from them throws when read.
                return new JsonRefusal("malformed-json", PathOf(path));
            default:
                return null;
        }
    }

    private static JsonRefusal? CheckDto(ref Utf8JsonReader reader, JsonTypeInfo type, List<PathSegment> path)
    {
        var members = type.Properties;
        var seen = new bool[members.Count];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var index = -1;
            for (var i = 0; i < members.Count; i++)
            {
                if (reader.ValueTextEquals(members[i].Name))
                {
                    index = i;
                    break;
                }
            }

            if (index < 0)
            {
                var name = reader.GetString()!;
                var near = members.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))?.Name;
                return new JsonRefusal("unknown-field", PathOf(path, name), near);
            }

            var member = members[index];
            if (seen[index])
            {
                return new JsonRefusal("duplicate-field", PathOf(path, member.Name));
            }

            seen[index] = true;
            reader.Read();
            path.Add(new PathSegment(member.Name, 0));
            if (CheckValue(ref reader, InfoOf(type.Options, member.PropertyType), path) is { } refusal)
            {
                return refusal;
            }

            path.RemoveAt(path.Count - 1);
        }

        return null;
    }

    private static JsonRefusal? CheckFreeForm(ref Utf8JsonReader reader, List<PathSegment> path)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            if (!seen.Add(name))
            {
                return new JsonRefusal("duplicate-field", PathOf(path, name));
            }

            reader.Read();
            path.Add(new PathSegment(Printable(name), 0));
            if (CheckValue(ref reader, null, path) is { } refusal)
            {
                return refusal;
            }

            path.RemoveAt(path.Count - 1);
        }

        return null;
    }

    private static bool IsUtf8(ref Utf8JsonReader reader)
    {
        if (!reader.HasValueSequence)
        {
            return Utf8.IsValid(reader.ValueSpan);
        }

        // A value across chunks of the body: copied whole, so that a character split between chunks is read as one.
        var length = checked((int)reader.ValueSequence.Length);
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            reader.ValueSequence.CopyTo(copy);
            return Utf8.IsValid(copy.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy, clearArray: true);
        }
    }

    /// <summary>The metadata of a member's type (a nullable's underlying type), or null where nothing is known of its members.</summary>
    private static JsonTypeInfo? InfoOf(JsonSerializerOptions options, Type type)
        => options.TryGetTypeInfo(Nullable.GetUnderlyingType(type) ?? type, out var info) ? info : null;

    private static string PathOf(List<PathSegment> path, string? name = null)
    {
        var text = new StringBuilder("$");
        foreach (var segment in path)
        {
            if (segment.Name is null)
            {
                text.Append(CultureInfo.InvariantCulture, $"[{segment.Index}]");
            }
            else
            {
                text.Append('.').Append(segment.Name);
            }
        }

        if (name is not null)
        {
            text.Append('.').Append(Printable(name));
        }

        return text.ToString();
    }

    /// <summary>The name if it looks like an identifier, else a placeholder: a path never echoes what could be a value.</summary>
    private static string Printable(string name)
        => name.Length is > 0 and <= MaxPrintableName && (char.IsAsciiLetter(name[0]) || name[0] == '$') && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '$')
            ? name
            : "<member>";

    /// <summary>A member name (already printable) or an array index.</summary>
    private readonly record struct PathSegment(string? Name, int Index);

    /// <summary>The reader settings the serializer would use for <paramref name="options"/> (depth, comments, trailing commas).</summary>
    public static JsonReaderOptions ReaderOptions(JsonSerializerOptions options) => new()
    {
        MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth,
        CommentHandling = options.ReadCommentHandling,
        AllowTrailingCommas = options.AllowTrailingCommas,
    };
}
