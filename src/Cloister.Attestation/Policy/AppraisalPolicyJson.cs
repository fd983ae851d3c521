using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Cloister.Attestation.Policy;

/// <summary>
/// The JSON form of an <see cref="AppraisalPolicy"/>: an object with camelCase fields, every one optional
/// (a missing field takes the default of <see cref="AppraisalPolicy"/>, i.e. the product's default policy).
/// </summary>
/// <remarks>
/// <para>Fields and their JSON types:</para>
/// <list type="bullet">
/// <item><c>id</c>: non-empty string.</item>
/// <item><c>allowedTees</c>: array of "sev-snp", "tdx", "sgx", "nitro", "simulated".</item>
/// <item><c>measurements</c>: array of hex strings.</item>
/// <item><c>expectedRegisters</c>: object, "rtmr0".."rtmr3" or "pcr0".."pcr31" → hex string.</item>
/// <item><c>allowDebug</c>, <c>allowMigrationAgent</c>, <c>allowSmt</c>, <c>requireSeptVeDisable</c>: booleans.</item>
/// <item><c>maxVmpl</c>: integer 0..3.</item>
/// <item><c>minimumTcb</c>: object, "bootloader", "tee", "snp", "microcode", "fmc" → integer 0..255.</item>
/// <item><c>affirmingTcbStatuses</c>, <c>warningTcbStatuses</c>: arrays of Intel TCB statuses (UpToDate, SWHardeningNeeded,
/// ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded, Revoked, and TDX's TDRelaunchAdvised,
/// TDRelaunchAdvisedConfigurationNeeded); a status may not be in both.</item>
/// <item><c>maxAgeSeconds</c>: positive integer, or null for no maximum.</item>
/// <item><c>expectedReportData</c>, <c>expectedHostData</c> (SEV-SNP), <c>expectedNonce</c>: hex string, or null.</item>
/// <item><c>allowedSigners</c>: array of "vcek", "vlek".</item>
/// <item><c>allowedProducts</c>: array of "Milan", "Genoa", "Turin" (empty = any).</item>
/// </list>
/// <para>
/// Unknown fields, duplicate fields, wrong types and out-of-range values are errors whose message names the field;
/// a policy that does not say exactly what it means is refused rather than guessed at. Hex is accepted in either
/// case and stored lower-case. Comments and trailing commas are allowed, since policies are hand-written files.
/// </para>
/// </remarks>
public static class AppraisalPolicyJson
{
    /// <summary>A policy file larger than this is refused (a real one is a few kilobytes).</summary>
    public const int MaxPolicyBytes = 1024 * 1024;

    /// <summary>
    /// The error for JSON that System.Text.Json parses but refuses to read as a string (an InvalidOperationException): a
    /// string or member name with an escaped lone surrogate ("\ud800").
    /// </summary>
    internal const string InvalidUnicodeError = "policy: a string is not valid Unicode (a lone surrogate escape)";

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        MaxDepth = 16,
    };

    private static readonly string[] KnownTcbStatuses =
    [
        "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
        "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked",

        // TDX TCB info (Intel PCS v4) adds these for TD-preserving module updates.
        "TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded",
    ];

    private static readonly string[] KnownSigners = ["vcek", "vlek"];

    private static readonly string[] KnownProducts = ["Milan", "Genoa", "Turin"];

    private static readonly string[] KnownTcbComponents = ["bootloader", "tee", "snp", "microcode", "fmc"];

    /// <summary>Parses a policy from JSON text.</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out AppraisalPolicy? policy, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (Encoding.UTF8.GetMaxByteCount(json.Length) > MaxPolicyBytes && Encoding.UTF8.GetByteCount(json) > MaxPolicyBytes)
        {
            policy = null;
            error = $"policy: larger than {MaxPolicyBytes} bytes";
            return false;
        }

        return TryParse(Encoding.UTF8.GetBytes(json), out policy, out error);
    }

    /// <summary>Parses a policy from UTF-8 JSON.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Json, [NotNullWhen(true)] out AppraisalPolicy? policy, [NotNullWhen(false)] out string? error)
    {
        policy = null;
        if (utf8Json.Length > MaxPolicyBytes)
        {
            error = $"policy: larger than {MaxPolicyBytes} bytes";
            return false;
        }

        // Strip a UTF-8 byte order mark: editors on some platforms write one.
        if (utf8Json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8Json = utf8Json[3..];
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), DocumentOptions);
        }
        catch (JsonException e)
        {
            error = $"policy: not valid JSON ({e.Message})";
            return false;
        }

        using (document)
        {
            return TryParse(document.RootElement, out policy, out error);
        }
    }

    /// <summary>Parses a policy from a JSON element (e.g. the "policy" member of a request body).</summary>
    public static bool TryParse(JsonElement element, [NotNullWhen(true)] out AppraisalPolicy? policy, [NotNullWhen(false)] out string? error)
    {
        policy = null;
        try
        {
            policy = Read(element);
            error = null;
            return true;
        }
        catch (PolicyFieldException e)
        {
            error = e.Message;
            return false;
        }
        catch (InvalidOperationException)
        {
            error = InvalidUnicodeError;
            return false;
        }
    }

    /// <summary>Reads and parses a policy file; an unreadable file is an error value, like bad content.</summary>
    public static bool TryLoad(string path, [NotNullWhen(true)] out AppraisalPolicy? policy, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(path);
        policy = null;
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxPolicyBytes)
            {
                error = $"policy: {path} is larger than {MaxPolicyBytes} bytes";
                return false;
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"policy: cannot read {path} ({e.Message})";
            return false;
        }

        return TryParse(bytes, out policy, out error);
    }

    /// <summary>Writes <paramref name="policy"/> as JSON with every field present (sets sorted, so the output is stable).</summary>
    public static string Serialize(AppraisalPolicy policy, bool indented = true)
    {
        ArgumentNullException.ThrowIfNull(policy);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            Write(writer, policy);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The prefix of <see cref="Digest"/>: the hash function, so that another can follow.</summary>
    public const string DigestPrefix = "sha-256:";

    /// <summary>
    /// The canonical encoding of <paramref name="policy"/>: two spellings of one policy (member order, comments, hex case,
    /// absent fields versus their defaults, the order of or duplicates in a list) give the same bytes, any changed field
    /// other bytes.
    /// </summary>
    /// <remarks>
    /// The full form of <see cref="Write"/> (all 18 members, absent ones at their defaults, hex and register names in lower
    /// case, <c>maxAgeSeconds</c> an integer or null), written as RFC 8785 JSON (no whitespace, members sorted by name in
    /// UTF-16 code-unit order, minimal string escapes, plain integers), with every array — each is a set — sorted in
    /// code-unit order and without duplicates. docs/attestation.md gives the default policy's encoding.
    /// </remarks>
    public static byte[] Canonicalize(AppraisalPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var normalized = policy with
        {
            Measurements = [.. policy.Measurements.Select(m => m.ToLowerInvariant())],
            ExpectedRegisters = policy.ExpectedRegisters.ToDictionary(r => r.Key.ToLowerInvariant(), r => r.Value.ToLowerInvariant(), StringComparer.Ordinal),
            ExpectedReportData = policy.ExpectedReportData?.ToLowerInvariant(),
            ExpectedHostData = policy.ExpectedHostData?.ToLowerInvariant(),
            ExpectedNonce = policy.ExpectedNonce?.ToLowerInvariant(),
        };
        using var full = JsonDocument.Parse(Serialize(normalized, indented: false));
        return CanonicalJson.Write(full.RootElement);
    }

    /// <summary>
    /// <c>sha-256:</c> and the lower-case hex SHA-256 of <see cref="Canonicalize"/>: what a signed result names as the policy
    /// it was appraised under ("policyDigest"), and what a relying party compares with the digest of its own policy.
    /// </summary>
    public static string Digest(AppraisalPolicy policy) => DigestPrefix + Convert.ToHexStringLower(SHA256.HashData(Canonicalize(policy)));

    /// <summary>Writes <paramref name="policy"/> as one JSON object to <paramref name="writer"/>.</summary>
    public static void Write(Utf8JsonWriter writer, AppraisalPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(policy);
        writer.WriteStartObject();
        writer.WriteString("id", policy.Id);
        WriteArray(writer, "allowedTees", policy.AllowedTees.Order().Select(TeeNames.ToName));
        WriteArray(writer, "measurements", policy.Measurements);
        writer.WriteStartObject("expectedRegisters");
        foreach (var (name, value) in policy.ExpectedRegisters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            writer.WriteString(name, value);
        }

        writer.WriteEndObject();
        writer.WriteBoolean("allowDebug", policy.AllowDebug);
        writer.WriteBoolean("allowMigrationAgent", policy.AllowMigrationAgent);
        writer.WriteNumber("maxVmpl", policy.MaxVmpl);
        writer.WriteBoolean("allowSmt", policy.AllowSmt);
        writer.WriteBoolean("requireSeptVeDisable", policy.RequireSeptVeDisable);
        writer.WriteStartObject("minimumTcb");
        foreach (var (name, value) in policy.MinimumTcb.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            writer.WriteNumber(name, value);
        }

        writer.WriteEndObject();
        WriteArray(writer, "affirmingTcbStatuses", policy.AffirmingTcbStatuses.Order(StringComparer.Ordinal));
        WriteArray(writer, "warningTcbStatuses", policy.WarningTcbStatuses.Order(StringComparer.Ordinal));
        if (policy.MaxAge is { } maxAge)
        {
            writer.WriteNumber("maxAgeSeconds", (long)Math.Ceiling(maxAge.TotalSeconds));
        }
        else
        {
            writer.WriteNull("maxAgeSeconds");
        }

        WriteNullableString(writer, "expectedReportData", policy.ExpectedReportData);
        WriteNullableString(writer, "expectedHostData", policy.ExpectedHostData);
        WriteNullableString(writer, "expectedNonce", policy.ExpectedNonce);
        WriteArray(writer, "allowedSigners", policy.AllowedSigners.Order(StringComparer.Ordinal));
        WriteArray(writer, "allowedProducts", policy.AllowedProducts.Order(StringComparer.Ordinal));
        writer.WriteEndObject();
    }

    private static AppraisalPolicy Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new PolicyFieldException($"policy: must be a JSON object, not {Kind(root)}");
        }

        var policy = new AppraisalPolicy();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var name = property.Name;
            if (!seen.Add(name))
            {
                throw new PolicyFieldException($"{name}: field appears more than once");
            }

            var value = property.Value;
            policy = name switch
            {
                "id" => policy with { Id = ReadId(value) },
                "allowedTees" => policy with { AllowedTees = ReadTees(name, value) },
                "measurements" => policy with { Measurements = ReadHexArray(name, value) },
                "expectedRegisters" => policy with { ExpectedRegisters = ReadRegisters(name, value) },
                "allowDebug" => policy with { AllowDebug = ReadBool(name, value) },
                "allowMigrationAgent" => policy with { AllowMigrationAgent = ReadBool(name, value) },
                "maxVmpl" => policy with { MaxVmpl = ReadInt(name, value, 0, 3) },
                "allowSmt" => policy with { AllowSmt = ReadBool(name, value) },
                "requireSeptVeDisable" => policy with { RequireSeptVeDisable = ReadBool(name, value) },
                "minimumTcb" => policy with { MinimumTcb = ReadMinimumTcb(name, value) },
                "affirmingTcbStatuses" => policy with { AffirmingTcbStatuses = ReadNameSet(name, value, KnownTcbStatuses) },
                "warningTcbStatuses" => policy with { WarningTcbStatuses = ReadNameSet(name, value, KnownTcbStatuses) },
                "maxAgeSeconds" => policy with { MaxAge = ReadMaxAge(name, value) },
                "expectedReportData" => policy with { ExpectedReportData = ReadNullableHex(name, value) },
                "expectedHostData" => policy with { ExpectedHostData = ReadNullableHex(name, value) },
                "expectedNonce" => policy with { ExpectedNonce = ReadNullableHex(name, value) },
                "allowedSigners" => policy with { AllowedSigners = ReadNameSet(name, value, KnownSigners) },
                "allowedProducts" => policy with { AllowedProducts = ReadNameSet(name, value, KnownProducts) },
                _ => throw new PolicyFieldException($"{name}: unknown field (known: id, allowedTees, measurements, expectedRegisters, allowDebug, allowMigrationAgent, maxVmpl, allowSmt, requireSeptVeDisable, minimumTcb, affirmingTcbStatuses, warningTcbStatuses, maxAgeSeconds, expectedReportData, expectedHostData, expectedNonce, allowedSigners, allowedProducts)"),
            };
        }

        var both = policy.AffirmingTcbStatuses.Intersect(policy.WarningTcbStatuses, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (both.Count > 0)
        {
            throw new PolicyFieldException($"warningTcbStatuses: {string.Join(", ", both)} also in affirmingTcbStatuses");
        }

        return policy;
    }

    private static string ReadId(JsonElement value)
    {
        var id = ReadString("id", value);
        if (id.Length == 0 || id.Length > 256 || id.Any(char.IsControl))
        {
            throw new PolicyFieldException("id: must be 1 to 256 characters without control characters");
        }

        return id;
    }

    private static HashSet<TeeType> ReadTees(string field, JsonElement value)
    {
        var set = new HashSet<TeeType>();
        var index = 0;
        foreach (var item in ArrayItems(field, value))
        {
            var text = ReadString($"{field}[{index}]", item);
            if (!TeeNames.TryParse(text, out var tee))
            {
                throw new PolicyFieldException($"{field}[{index}]: unknown TEE type \"{Clip(text)}\" (known: {string.Join(", ", TeeNames.All)})");
            }

            set.Add(tee);
            index++;
        }

        return set;
    }

    private static List<string> ReadHexArray(string field, JsonElement value)
    {
        var list = new List<string>();
        var index = 0;
        foreach (var item in ArrayItems(field, value))
        {
            var hex = ReadHex($"{field}[{index}]", item);
            if (!list.Contains(hex, StringComparer.Ordinal))
            {
                list.Add(hex);
            }

            index++;
        }

        return list;
    }

    private static Dictionary<string, string> ReadRegisters(string field, JsonElement value)
    {
        var registers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in ObjectProperties(field, value))
        {
            var name = property.Name.ToLowerInvariant();
            var path = $"{field}.{property.Name}";
            if (!IsRegisterName(name))
            {
                throw new PolicyFieldException($"{path}: unknown register (known: rtmr0..rtmr3, pcr0..pcr31)");
            }

            if (!registers.TryAdd(name, ReadHex(path, property.Value)))
            {
                throw new PolicyFieldException($"{path}: register appears more than once");
            }
        }

        return registers;
    }

    private static bool IsRegisterName(string name)
    {
        if (name.Length == 5 && name.StartsWith("rtmr", StringComparison.Ordinal))
        {
            return name[4] is >= '0' and <= '3';
        }

        if (name.StartsWith("pcr", StringComparison.Ordinal) && name.Length is 4 or 5)
        {
            var digits = name[3..];
            return digits.All(char.IsAsciiDigit) && (digits.Length == 1 || digits[0] != '0')
                && int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) <= 31;
        }

        return false;
    }

    private static Dictionary<string, int> ReadMinimumTcb(string field, JsonElement value)
    {
        var minimum = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var property in ObjectProperties(field, value))
        {
            var path = $"{field}.{property.Name}";
            if (!KnownTcbComponents.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new PolicyFieldException($"{path}: unknown TCB component (known: {string.Join(", ", KnownTcbComponents)})");
            }

            if (!minimum.TryAdd(property.Name, ReadInt(path, property.Value, 0, 255)))
            {
                throw new PolicyFieldException($"{path}: component appears more than once");
            }
        }

        return minimum;
    }

    private static HashSet<string> ReadNameSet(string field, JsonElement value, string[] known)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var item in ArrayItems(field, value))
        {
            var text = ReadString($"{field}[{index}]", item);
            if (!known.Contains(text, StringComparer.Ordinal))
            {
                throw new PolicyFieldException($"{field}[{index}]: unknown value \"{Clip(text)}\" (known: {string.Join(", ", known)})");
            }

            set.Add(text);
            index++;
        }

        return set;
    }

    private static TimeSpan? ReadMaxAge(string field, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        // Ten years: longer is a mistake, not a policy, and keeps TimeSpan far from overflow.
        return TimeSpan.FromSeconds(ReadInt(field, value, 1, 10 * 366 * 24 * 3600));
    }

    private static string? ReadNullableHex(string field, JsonElement value)
        => value.ValueKind == JsonValueKind.Null ? null : ReadHex(field, value);

    private static string ReadHex(string field, JsonElement value)
    {
        var text = ReadString(field, value);
        if (text.Length == 0 || text.Length % 2 != 0 || !text.All(char.IsAsciiHexDigit))
        {
            throw new PolicyFieldException($"{field}: must be a non-empty hex string with an even number of digits");
        }

        return text.ToLowerInvariant();
    }

    private static string ReadString(string field, JsonElement value)
        => value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new PolicyFieldException($"{field}: must be a string, not {Kind(value)}");

    private static bool ReadBool(string field, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new PolicyFieldException($"{field}: must be true or false, not {Kind(value)}"),
    };

    private static int ReadInt(string field, JsonElement value, int min, int max)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            throw new PolicyFieldException($"{field}: must be an integer from {min} to {max}, not {Kind(value)}");
        }

        if (number < min || number > max)
        {
            throw new PolicyFieldException($"{field}: must be an integer from {min} to {max}, not {number}");
        }

        return (int)number;
    }

    private static JsonElement.ArrayEnumerator ArrayItems(string field, JsonElement value)
        => value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray()
            : throw new PolicyFieldException($"{field}: must be an array, not {Kind(value)}");

    private static JsonElement.ObjectEnumerator ObjectProperties(string field, JsonElement value)
        => value.ValueKind == JsonValueKind.Object
            ? value.EnumerateObject()
            : throw new PolicyFieldException($"{field}: must be an object, not {Kind(value)}");

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string Clip(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");

    private static void WriteArray(Utf8JsonWriter writer, string name, IEnumerable<string> items)
    {
        writer.WriteStartArray(name);
        foreach (var item in items)
        {
            writer.WriteStringValue(item);
        }

        writer.WriteEndArray();
    }

    private static void WriteNullableString(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    /// <summary>Carries a field error out of the recursive reader; never escapes this class.</summary>
    private sealed class PolicyFieldException(string message) : Exception(message);
}
