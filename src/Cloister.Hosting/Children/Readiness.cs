using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Hosting.Children;

/// <summary>What a child process tells its supervisor once it serves.</summary>
public sealed record ReadinessReport
{
    /// <summary>Which process: "worker" or "keybroker".</summary>
    public required string Process { get; init; }

    /// <summary>The address it listens on (real port for port 0), when it serves over HTTP.</summary>
    public string? Listening { get; init; }

    /// <summary>An enclave worker's measurement (hex), which the default attestation policy pins.</summary>
    public string? Measurement { get; init; }
}

/// <summary>
/// The handshake between <c>serve</c> and the children it starts: a supervisor sets <see cref="EnvironmentVariable"/>,
/// and the child, once it serves, writes one <see cref="ReadinessReport"/> as a JSON line on stdout after
/// <see cref="Marker"/>. Both sides use this type, so the format has one home; the human lines the
/// child prints around it are for people and nothing parses them.
/// </summary>
public static class Readiness
{
    /// <summary>Set to "1" by a supervisor in its child's environment.</summary>
    public const string EnvironmentVariable = "CLOISTER_READINESS_REPORT";

    /// <summary>The first word of the report's line.</summary>
    public const string Marker = "cloister-readiness ";

    /// <summary>Writes <paramref name="report"/> on stdout when a supervisor asked for it (otherwise nothing: a person reads this output).</summary>
    public static void Report(ReadinessReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) != "1")
        {
            return;
        }

        Console.Out.WriteLine(Format(report));
        Console.Out.Flush();
    }

    /// <summary>The report's line.</summary>
    public static string Format(ReadinessReport report) => Marker + JsonSerializer.Serialize(report, ReadinessJson.Default.ReadinessReport);

    /// <summary>The report <paramref name="line"/> carries, or null when it is not a report (or not a well-formed one).</summary>
    public static ReadinessReport? TryParse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (!line.StartsWith(Marker, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(line.AsSpan(Marker.Length), ReadinessJson.Default.ReadinessReport);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ReadinessReport))]
internal sealed partial class ReadinessJson : JsonSerializerContext;
