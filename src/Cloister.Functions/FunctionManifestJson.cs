using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Cloister.Functions;

/// <summary>
/// The JSON form of a <see cref="FunctionManifest"/> and its canonical encoding.
/// </summary>
/// <remarks>
/// <para>Fields (camelCase; unknown and duplicate fields are errors naming the field):</para>
/// <list type="bullet">
/// <item><c>runtime</c> (required): "python3", "node" or "native".</item>
/// <item><c>entrypoint</c> (required): a relative bundle path; <c>.py</c> for python3, <c>.js</c> for node.</item>
/// <item><c>limits</c>: object with <c>memoryMiB</c>, <c>wallTimeoutSeconds</c>, <c>cpuSeconds</c>, <c>outputBytes</c>, <c>concurrency</c> (integers).</item>
/// <item><c>permissions</c>: object with <c>reveal</c> (array of classifiers, or ["*"]), <c>returnPlaintext</c> (bool),
/// <c>tokenizeOutput</c> (array of {field, format, classifier?}).</item>
/// <item><c>isolation</c>: "warm" (default) or "per-invocation".</item>
/// <item><c>egress</c>: "none" (default; nothing else is supported yet).</item>
/// </list>
/// <para>
/// The canonical form (<see cref="ToCanonicalJson"/>) is RFC 8785-style JSON: every field present with defaults made
/// explicit, keys sorted, no whitespace, integers only, strings escaped minimally. It is what the measurement hashes.
/// </para>
/// </remarks>
public static class FunctionManifestJson
{
    /// <summary>A manifest larger than this is refused (a real one is well under a kilobyte).</summary>
    public const int MaxManifestBytes = 64 * 1024;

    /// <summary>Most classifiers in <c>permissions.reveal</c> and rules in <c>permissions.tokenizeOutput</c>.</summary>
    public const int MaxListItems = 256;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 8 };

    private static readonly string[] TopLevelFields = ["runtime", "entrypoint", "limits", "permissions", "isolation", "egress"];
    private static readonly string[] LimitFields = ["memoryMiB", "wallTimeoutSeconds", "cpuSeconds", "outputBytes", "concurrency"];
    private static readonly string[] PermissionFields = ["reveal", "returnPlaintext", "tokenizeOutput"];
    private static readonly string[] RuleFields = ["field", "format", "classifier"];

    /// <summary>Parses a manifest from JSON text.</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out FunctionManifest? manifest, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Length > MaxManifestBytes)
        {
            manifest = null;
            error = $"manifest: larger than {MaxManifestBytes} bytes";
            return false;
        }

        return TryParse(Encoding.UTF8.GetBytes(json), out manifest, out error);
    }

    /// <summary>Parses a manifest from UTF-8 JSON, checking only the manifest itself.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Json, [NotNullWhen(true)] out FunctionManifest? manifest, [NotNullWhen(false)] out string? error)
    {
        manifest = null;
        if (utf8Json.Length > MaxManifestBytes)
        {
            error = $"manifest: larger than {MaxManifestBytes} bytes";
            return false;
        }

        if (!Utf8.IsValid(utf8Json))
        {
            error = "manifest: not valid UTF-8";
            return false;
        }

        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = DocumentOptions.MaxDepth });
            if (!JsonDocument.TryParseValue(ref reader, out var parsed))
            {
                error = "manifest: empty document";
                return false;
            }

            document = parsed;
            if (reader.Read())
            {
                document.Dispose();
                error = "manifest: trailing data after the JSON object";
                return false;
            }
        }
        catch (JsonException e)
        {
            error = $"manifest: not valid JSON ({e.Message})";
            return false;
        }

        using (document)
        {
            try
            {
                return TryParseRoot(document.RootElement, out manifest, out error);
            }
            catch (InvalidOperationException)
            {
                // A string escape with no Unicode meaning (a lone surrogate such as "\ud800").
                manifest = null;
                error = "manifest: a string is not valid Unicode";
                return false;
            }
        }
    }

    /// <summary>Parses a manifest and checks it against the bundle it will run from (entrypoint present, right kind).</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Json, FunctionBundle bundle, [NotNullWhen(true)] out FunctionManifest? manifest, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        if (!TryParse(utf8Json, out manifest, out error))
        {
            return false;
        }

        if (!TryValidateAgainst(manifest, bundle, out error))
        {
            manifest = null;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Checks that <paramref name="manifest"/>'s entrypoint is a file of <paramref name="bundle"/> of the right kind:
    /// for <see cref="FunctionRuntime.Native"/> an executable x86-64 ELF (ET_EXEC or ET_DYN, 64-bit, little-endian).
    /// </summary>
    public static bool TryValidateAgainst(FunctionManifest manifest, FunctionBundle bundle, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(bundle);
        if (!bundle.TryGetFile(manifest.Entrypoint, out var file))
        {
            error = $"entrypoint: '{manifest.Entrypoint}' is not a file in the bundle";
            return false;
        }

        if (manifest.Runtime == FunctionRuntime.Native)
        {
            if (!IsX8664Elf(file.Content.Span))
            {
                error = $"entrypoint: '{manifest.Entrypoint}' is not a Linux x86-64 ELF executable (runtime native)";
                return false;
            }

            if (!file.Executable)
            {
                error = $"entrypoint: '{manifest.Entrypoint}' lacks the executable bit (runtime native)";
                return false;
            }
        }

        error = null;
        return true;
    }

    /// <summary>The canonical UTF-8 JSON of a manifest: all fields explicit, keys sorted, no whitespace.</summary>
    public static byte[] ToCanonicalJson(FunctionManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var b = new StringBuilder(256);
        b.Append("{\"egress\":");
        AppendString(b, manifest.Egress);
        b.Append(",\"entrypoint\":");
        AppendString(b, manifest.Entrypoint);
        b.Append(",\"isolation\":");
        AppendString(b, IsolationName(manifest.Isolation));
        var l = manifest.Limits;
        b.Append(CultureInfo.InvariantCulture, $",\"limits\":{{\"concurrency\":{l.Concurrency},\"cpuSeconds\":{l.CpuSeconds},\"memoryMiB\":{l.MemoryMiB},\"outputBytes\":{l.OutputBytes},\"wallTimeoutSeconds\":{l.WallTimeoutSeconds}}}");
        var p = manifest.Permissions;
        b.Append(",\"permissions\":{\"returnPlaintext\":").Append(p.ReturnPlaintext ? "true" : "false").Append(",\"reveal\":[");
        var reveal = p.Reveal.Order(StringComparer.Ordinal).ToArray();
        for (var i = 0; i < reveal.Length; i++)
        {
            b.Append(i == 0 ? "" : ",");
            AppendString(b, reveal[i]);
        }

        b.Append("],\"tokenizeOutput\":[");
        var rules = p.TokenizeOutput.OrderBy(r => r.Field, StringComparer.Ordinal).ToArray();
        for (var i = 0; i < rules.Length; i++)
        {
            b.Append(i == 0 ? "{\"classifier\":" : ",{\"classifier\":");
            if (rules[i].Classifier is { } classifier)
            {
                AppendString(b, classifier);
            }
            else
            {
                b.Append("null");
            }

            b.Append(",\"field\":");
            AppendString(b, rules[i].Field);
            b.Append(",\"format\":");
            AppendString(b, FormatName(rules[i].Format));
            b.Append('}');
        }

        b.Append("]},\"runtime\":");
        AppendString(b, RuntimeName(manifest.Runtime));
        b.Append('}');
        return Encoding.UTF8.GetBytes(b.ToString());
    }

    /// <summary>The manifest name of a runtime ("python3", "node", "native").</summary>
    public static string RuntimeName(FunctionRuntime runtime) => runtime switch
    {
        FunctionRuntime.Python3 => "python3",
        FunctionRuntime.Node => "node",
        FunctionRuntime.Native => "native",
        _ => throw new ArgumentOutOfRangeException(nameof(runtime)),
    };

    /// <summary>The manifest name of an isolation mode ("warm", "per-invocation").</summary>
    public static string IsolationName(FunctionIsolation isolation) => isolation switch
    {
        FunctionIsolation.Warm => "warm",
        FunctionIsolation.PerInvocation => "per-invocation",
        _ => throw new ArgumentOutOfRangeException(nameof(isolation)),
    };

    /// <summary>The manifest name of a tokenize format ("random", "numeric", "pan", "pan-last4", "ssn-last4", "fpe").</summary>
    public static string FormatName(TokenizeFormat format) => format switch
    {
        TokenizeFormat.Random => "random",
        TokenizeFormat.Numeric => "numeric",
        TokenizeFormat.Pan => "pan",
        TokenizeFormat.PanLast4 => "pan-last4",
        TokenizeFormat.SsnLast4 => "ssn-last4",
        TokenizeFormat.Fpe => "fpe",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    internal static bool IsX8664Elf(ReadOnlySpan<byte> content)
    {
        const ushort EmX8664 = 62;
        const ushort EtExec = 2;
        const ushort EtDyn = 3;
        if (content.Length < 64 || content[0] != 0x7F || content[1] != (byte)'E' || content[2] != (byte)'L' || content[3] != (byte)'F')
        {
            return false;
        }

        // EI_CLASS = ELFCLASS64, EI_DATA = ELFDATA2LSB, EI_VERSION = EV_CURRENT.
        if (content[4] != 2 || content[5] != 1 || content[6] != 1)
        {
            return false;
        }

        var type = BinaryPrimitives.ReadUInt16LittleEndian(content[16..]);
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(content[18..]);
        return machine == EmX8664 && (type == EtExec || type == EtDyn);
    }

    private static bool TryParseRoot(JsonElement root, [NotNullWhen(true)] out FunctionManifest? manifest, [NotNullWhen(false)] out string? error)
    {
        manifest = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "manifest: must be a JSON object";
            return false;
        }

        if (!TryCheckFields(root, TopLevelFields, "", out error))
        {
            return false;
        }

        // runtime
        if (!root.TryGetProperty("runtime", out var runtimeElement))
        {
            error = "runtime: required (python3, node or native)";
            return false;
        }

        FunctionRuntime runtime;
        switch (runtimeElement.ValueKind == JsonValueKind.String ? runtimeElement.GetString() : null)
        {
            case "python3": runtime = FunctionRuntime.Python3; break;
            case "node": runtime = FunctionRuntime.Node; break;
            case "native": runtime = FunctionRuntime.Native; break;
            default:
                error = "runtime: must be \"python3\", \"node\" or \"native\"";
                return false;
        }

        // entrypoint
        if (!root.TryGetProperty("entrypoint", out var entryElement) || entryElement.ValueKind != JsonValueKind.String)
        {
            error = "entrypoint: required, a relative path in the bundle";
            return false;
        }

        if (!BundlePath.TryNormalize(entryElement.GetString()!, out var entrypoint, out var pathError))
        {
            error = $"entrypoint: {pathError}";
            return false;
        }

        if (runtime == FunctionRuntime.Python3 && !entrypoint.EndsWith(".py", StringComparison.Ordinal))
        {
            error = "entrypoint: a python3 entrypoint must be a .py module";
            return false;
        }

        if (runtime == FunctionRuntime.Node && !entrypoint.EndsWith(".js", StringComparison.Ordinal))
        {
            error = "entrypoint: a node entrypoint must be a .js file";
            return false;
        }

        // limits
        var limits = FunctionLimits.Default;
        if (root.TryGetProperty("limits", out var limitsElement) && !TryParseLimits(limitsElement, out limits, out error))
        {
            return false;
        }

        // permissions
        var permissions = FunctionPermissions.None;
        if (root.TryGetProperty("permissions", out var permElement) && !TryParsePermissions(permElement, out permissions, out error))
        {
            return false;
        }

        // isolation
        var isolation = FunctionIsolation.Warm;
        if (root.TryGetProperty("isolation", out var isoElement))
        {
            switch (isoElement.ValueKind == JsonValueKind.String ? isoElement.GetString() : null)
            {
                case "warm": isolation = FunctionIsolation.Warm; break;
                case "per-invocation": isolation = FunctionIsolation.PerInvocation; break;
                default:
                    error = "isolation: must be \"warm\" or \"per-invocation\"";
                    return false;
            }
        }

        // egress
        if (root.TryGetProperty("egress", out var egressElement)
            && !(egressElement.ValueKind == JsonValueKind.String && egressElement.GetString() == FunctionManifest.NoEgress))
        {
            error = "egress: only \"none\" is supported for now";
            return false;
        }

        manifest = new FunctionManifest(runtime, entrypoint, limits, permissions, isolation, FunctionManifest.NoEgress);
        error = null;
        return true;
    }

    private static bool TryParseLimits(JsonElement element, out FunctionLimits limits, [NotNullWhen(false)] out string? error)
    {
        limits = FunctionLimits.Default;
        if (element.ValueKind != JsonValueKind.Object)
        {
            error = "limits: must be an object";
            return false;
        }

        if (!TryCheckFields(element, LimitFields, "limits.", out error))
        {
            return false;
        }

        if (!TryGetInteger(element, "memoryMiB", FunctionLimits.DefaultMemoryMiB, FunctionLimits.MinMemoryMiB, FunctionLimits.MaxMemoryMiB, out var memory, out error)
            || !TryGetInteger(element, "wallTimeoutSeconds", FunctionLimits.DefaultWallTimeoutSeconds, 1, FunctionLimits.MaxSeconds, out var wall, out error)
            || !TryGetInteger(element, "cpuSeconds", wall, 1, FunctionLimits.MaxSeconds, out var cpu, out error)
            || !TryGetInteger(element, "outputBytes", FunctionLimits.DefaultOutputBytes, 1, FunctionLimits.MaxOutputBytes, out var output, out error)
            || !TryGetInteger(element, "concurrency", FunctionLimits.DefaultConcurrency, 1, FunctionLimits.MaxConcurrency, out var concurrency, out error))
        {
            return false;
        }

        limits = new FunctionLimits((int)memory, (int)wall, (int)cpu, output, (int)concurrency);
        return true;
    }

    private static bool TryParsePermissions(JsonElement element, out FunctionPermissions permissions, [NotNullWhen(false)] out string? error)
    {
        permissions = FunctionPermissions.None;
        if (element.ValueKind != JsonValueKind.Object)
        {
            error = "permissions: must be an object";
            return false;
        }

        if (!TryCheckFields(element, PermissionFields, "permissions.", out error))
        {
            return false;
        }

        var reveal = new List<string>();
        if (element.TryGetProperty("reveal", out var revealElement))
        {
            if (revealElement.ValueKind != JsonValueKind.Array || revealElement.GetArrayLength() > MaxListItems)
            {
                error = $"permissions.reveal: must be an array of at most {MaxListItems} classifiers, or [\"*\"]";
                return false;
            }

            foreach (var item in revealElement.EnumerateArray())
            {
                var classifier = item.ValueKind == JsonValueKind.String ? item.GetString()! : null;
                if (classifier is null || (classifier != FunctionPermissions.AnyClassifier && !IsClassifier(classifier)))
                {
                    error = "permissions.reveal: each item must be a classifier (1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit) or \"*\"";
                    return false;
                }

                if (reveal.Contains(classifier, StringComparer.Ordinal))
                {
                    error = $"permissions.reveal: '{classifier}' is listed twice";
                    return false;
                }

                reveal.Add(classifier);
            }

            if (reveal.Contains(FunctionPermissions.AnyClassifier, StringComparer.Ordinal) && reveal.Count > 1)
            {
                error = "permissions.reveal: \"*\" must be the only item";
                return false;
            }
        }

        var returnPlaintext = false;
        if (element.TryGetProperty("returnPlaintext", out var plainElement))
        {
            if (plainElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                error = "permissions.returnPlaintext: must be true or false";
                return false;
            }

            returnPlaintext = plainElement.GetBoolean();
        }

        var rules = new List<TokenizeOutputRule>();
        if (element.TryGetProperty("tokenizeOutput", out var rulesElement))
        {
            if (rulesElement.ValueKind != JsonValueKind.Array || rulesElement.GetArrayLength() > MaxListItems)
            {
                error = $"permissions.tokenizeOutput: must be an array of at most {MaxListItems} rules";
                return false;
            }

            foreach (var item in rulesElement.EnumerateArray())
            {
                if (!TryParseRule(item, out var rule, out error))
                {
                    return false;
                }

                if (rules.Exists(r => r.Field == rule.Field))
                {
                    error = $"permissions.tokenizeOutput.field: '{rule.Field}' is listed twice";
                    return false;
                }

                rules.Add(rule);
            }
        }

        reveal.Sort(StringComparer.Ordinal);
        rules.Sort((a, b) => string.CompareOrdinal(a.Field, b.Field));
        permissions = new FunctionPermissions(reveal.AsReadOnly(), returnPlaintext, rules.AsReadOnly());
        return true;
    }

    private static bool TryParseRule(JsonElement item, [NotNullWhen(true)] out TokenizeOutputRule? rule, [NotNullWhen(false)] out string? error)
    {
        rule = null;
        if (item.ValueKind != JsonValueKind.Object)
        {
            error = "permissions.tokenizeOutput: each rule must be an object {field, format, classifier?}";
            return false;
        }

        if (!TryCheckFields(item, RuleFields, "permissions.tokenizeOutput.", out error))
        {
            return false;
        }

        var field = item.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString()! : null;
        if (field is null || !IsFieldPath(field))
        {
            error = "permissions.tokenizeOutput.field: required, a dotted path of names (a-z, A-Z, 0-9, '_', '-'), e.g. \"payer.account\"";
            return false;
        }

        TokenizeFormat format;
        switch (item.TryGetProperty("format", out var fm) && fm.ValueKind == JsonValueKind.String ? fm.GetString() : null)
        {
            case "random": format = TokenizeFormat.Random; break;
            case "numeric": format = TokenizeFormat.Numeric; break;
            case "pan": format = TokenizeFormat.Pan; break;
            case "pan-last4": format = TokenizeFormat.PanLast4; break;
            case "ssn-last4": format = TokenizeFormat.SsnLast4; break;
            case "fpe": format = TokenizeFormat.Fpe; break;
            default:
                error = "permissions.tokenizeOutput.format: required, one of random, numeric, pan, pan-last4, ssn-last4, fpe";
                return false;
        }

        string? classifier = null;
        if (item.TryGetProperty("classifier", out var c) && c.ValueKind != JsonValueKind.Null)
        {
            classifier = c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            if (classifier is null || !IsClassifier(classifier))
            {
                error = "permissions.tokenizeOutput.classifier: must be a classifier (1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit) or null";
                return false;
            }
        }

        rule = new TokenizeOutputRule(field, format, classifier);
        error = null;
        return true;
    }

    private static bool TryCheckFields(JsonElement obj, string[] known, string prefix, [NotNullWhen(false)] out string? error)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                error = $"{prefix}{Printable(property.Name)}: unknown field";
                return false;
            }

            if (!seen.Add(property.Name))
            {
                error = $"{prefix}{property.Name}: duplicate field";
                return false;
            }
        }

        error = null;
        return true;
    }

    private static bool TryGetInteger(JsonElement obj, string name, long defaultValue, long min, long max, out long value, [NotNullWhen(false)] out string? error)
    {
        value = defaultValue;
        error = null;
        if (!obj.TryGetProperty(name, out var element))
        {
            return true;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out value) || value < min || value > max)
        {
            error = $"limits.{name}: must be an integer from {min} to {max}";
            return false;
        }

        return true;
    }

    private static bool IsClassifier(string s)
    {
        if (s.Length is < 1 or > 64 || !IsLowerAlnum(s[0]))
        {
            return false;
        }

        foreach (var ch in s)
        {
            if (!IsLowerAlnum(ch) && ch is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;

        static bool IsLowerAlnum(char ch) => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9');
    }

    private static bool IsFieldPath(string s)
    {
        if (s.Length is < 1 or > 256)
        {
            return false;
        }

        foreach (var segment in s.Split('.'))
        {
            if (segment.Length == 0)
            {
                return false;
            }

            foreach (var ch in segment)
            {
                if (ch is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static string Printable(string s)
    {
        var shortened = s.Length > 64 ? s[..64] + "…" : s;
        return new string(shortened.Select(ch => char.IsControl(ch) ? '?' : ch).ToArray());
    }

    private static void AppendString(StringBuilder b, string s)
    {
        // RFC 8785 string serialization: only '"', '\\' and control characters are escaped.
        b.Append('"');
        foreach (var ch in s)
        {
            switch (ch)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\b': b.Append("\\b"); break;
                case '\f': b.Append("\\f"); break;
                case '\n': b.Append("\\n"); break;
                case '\r': b.Append("\\r"); break;
                case '\t': b.Append("\\t"); break;
                default:
                    if (ch < 0x20)
                    {
                        b.Append(CultureInfo.InvariantCulture, $"\\u{(int)ch:x4}");
                    }
                    else
                    {
                        b.Append(ch);
                    }

                    break;
            }
        }

        b.Append('"');
    }
}
