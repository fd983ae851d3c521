using System.Text.Json;
using Cloister.Api.Contracts;
using Cloister.Client;

namespace Cloister.Cli;

/// <summary>Prints results as JSON (--json) or as short text meant for people and shell scripts.</summary>
internal static class Output
{
    private static readonly JsonSerializerOptions Indented = new(ClientJsonContext.Bodies) { WriteIndented = true };

    /// <summary>Prints <paramref name="value"/> as the SDK writes it (an API body or one of the SDK's types), indented.</summary>
    public static void Json<T>(T value)
        => Console.WriteLine(JsonSerializer.Serialize(value, Indented.GetTypeInfo(typeof(T))));

    public static void Fields(params (string Name, object? Value)[] fields)
    {
        var width = fields.Max(f => f.Name.Length);
        foreach (var (name, value) in fields)
        {
            if (value is not null)
            {
                Console.WriteLine($"{name.PadRight(width)}  {Format(value)}");
            }
        }
    }

    private static string Format(object value) => value switch
    {
        DateTimeOffset t => t.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
        JsonElement e => e.GetRawText(),
        bool b => b ? "yes" : "no",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    public static void Token(TokenInfo t) => Fields(
        ("token", t.Token), ("format", t.Format), ("alphabet", t.Alphabet), ("classifier", t.Classifier), ("mask", t.Mask),
        ("deterministic", t.Deterministic), ("key version", t.KeyVersion), ("created", t.CreatedAt), ("expires", t.ExpiresAt), ("metadata", t.Metadata));
}
