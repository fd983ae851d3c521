using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;

namespace Cloister.Attestation.Results;

/// <summary>A JSON Web Key Set (RFC 7517 §5) of result-signing keys: <c>{"keys":[...]}</c>.</summary>
public static class AttestationJwks
{
    /// <summary>A key set larger than this is refused.</summary>
    public const int MaxJwksBytes = 256 * 1024;

    /// <summary>Writes <paramref name="keys"/> as a JWKS document.</summary>
    public static string ToJson(IEnumerable<AttestationJwk> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            foreach (var key in keys)
            {
                key.WriteTo(writer);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads a JWKS document; every key must be valid (see <see cref="AttestationJwk.TryParse"/>) and kids unique.</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out IReadOnlyList<AttestationJwk>? keys, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(json);
        keys = null;
        if (json.Length > MaxJwksBytes)
        {
            error = $"jwks: larger than {MaxJwksBytes} bytes";
            return false;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            error = $"jwks: not valid JSON ({e.Message})";
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("keys", out var array) || array.ValueKind != JsonValueKind.Array)
            {
                error = "jwks: must be an object with a \"keys\" array";
                return false;
            }

            var list = new List<AttestationJwk>();
            var index = 0;
            foreach (var item in array.EnumerateArray())
            {
                if (!AttestationJwk.TryParse(item, out var jwk, out var keyError))
                {
                    error = $"jwks.keys[{index}]: {keyError}";
                    return false;
                }

                if (list.Any(k => k.Kid == jwk.Kid))
                {
                    error = $"jwks.keys[{index}]: kid \"{jwk.Kid}\" appears more than once";
                    return false;
                }

                list.Add(jwk);
                index++;
            }

            keys = list;
            error = null;
            return true;
        }
    }
}
