using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Cloister.Attestation.Policy;

/// <summary>Which worker measurement may receive which tenants' keys (key broker), or is trusted at all (client).</summary>
/// <param name="Measurement">A worker measurement (lower-case hex SHA-384) or "*" for any.</param>
/// <param name="Tenants">Tenant ids, or "*" for every tenant.</param>
public sealed record WorkerRule(string Measurement, IReadOnlyList<string> Tenants)
{
    /// <summary>Whether the rule covers <paramref name="measurement"/>.</summary>
    public bool Matches(string measurement) => Measurement == AttestationPolicyFile.Any || Measurement == measurement;

    /// <summary>Whether the rule allows <paramref name="tenantId"/>.</summary>
    public bool Allows(string tenantId) => Tenants.Contains(AttestationPolicyFile.Any) || Tenants.Contains(tenantId, StringComparer.Ordinal);
}

/// <summary>
/// The attestation policy file shared by the key broker and clients of sealed operations: the appraisal
/// policy, the simulated attester's public key, which worker measurements are trusted (and, for the
/// broker, with which tenants' keys), and optional function measurement pins (clients).
/// </summary>
/// <remarks>
/// <para>Format (JSON, comments and trailing commas allowed, unknown fields refused):</para>
/// <code>
/// {
///   "generatedBy": "cloister serve (embedded default)",   // optional marker: only such a file may be rewritten by serve
///   "appraisal": { ... AppraisalPolicyJson ... },          // required
///   "acceptWarnings": false,                              // optional: accept a "warning" verdict (e.g. TDX without collateral)
///   "simulatedAttesterKey": "-----BEGIN PUBLIC KEY-----...", // optional SPKI PEM (P-256); simulated evidence needs it
///   "workers": [ { "measurement": "hex" | "*", "tenants": ["*"] | ["tenant-id", ...] } ],   // required, may be empty
///   "functions": { "name": ["hex", ...] }                  // optional
/// }
/// </code>
/// <para>Simulated evidence is accepted only when <c>appraisal.allowedTees</c> names "simulated" AND a
/// simulated attester key is given.</para>
/// </remarks>
public sealed record AttestationPolicyFile
{
    /// <summary>The wildcard for measurements and tenants.</summary>
    public const string Any = "*";

    /// <summary>The marker serve writes into the embedded default.</summary>
    public const string EmbeddedDefaultMarker = "cloister serve (embedded default)";

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        MaxDepth = 16,
    };

    private static readonly string[] KnownFields = ["generatedBy", "appraisal", "acceptWarnings", "simulatedAttesterKey", "workers", "functions"];

    /// <summary>Who generated the file (<see cref="EmbeddedDefaultMarker"/> for the embedded default), or null.</summary>
    public string? GeneratedBy { get; init; }

    /// <summary>The appraisal policy evidence must satisfy.</summary>
    public required AppraisalPolicy Appraisal { get; init; }

    /// <summary>
    /// Whether evidence whose verdict is "warning" passes (every check held except ones that could not be evaluated or
    /// that flag a TCB needing hardening: TDX quotes without collateral always are). False: only "affirming" passes.
    /// </summary>
    public bool AcceptWarnings { get; init; }

    /// <summary>The simulated attester's public key (SPKI PEM), or null.</summary>
    public string? SimulatedAttesterKey { get; init; }

    /// <summary>Trusted worker measurements and the tenants each may serve.</summary>
    public IReadOnlyList<WorkerRule> Workers { get; init; } = [];

    /// <summary>Function measurement pins by function name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Functions { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>Whether simulated evidence can pass this policy (the TEE is allowed and a key is given).</summary>
    public bool AllowsSimulated => Appraisal.AllowedTees.Contains(TeeType.Simulated) && SimulatedAttesterKey is not null;

    /// <summary>Whether a verification ending in <paramref name="verdict"/> passes this policy (the key broker and clients both ask).</summary>
    public bool Accepts(Verdict verdict) => verdict == Verdict.Affirming || (verdict == Verdict.Warning && AcceptWarnings);

    /// <summary>The first rule covering <paramref name="workerMeasurement"/>, or null when the worker is not trusted.</summary>
    public WorkerRule? FindWorker(string workerMeasurement) => Workers.FirstOrDefault(w => w.Matches(workerMeasurement));

    /// <summary>A verifier for this policy: the hardware verifiers, plus simulated evidence when the policy allows it.</summary>
    public AttestationVerifier CreateVerifier()
    {
        if (!AllowsSimulated)
        {
            return AttestationVerifiers.CreateDefault();
        }

        using var key = ECDsa.Create();
        key.ImportFromPem(SimulatedAttesterKey);
        return AttestationVerifiers.CreateDefault(ECDsa.Create(key.ExportParameters(includePrivateParameters: false)));
    }

    /// <summary>Reads and parses a policy file; an unreadable file is an error value, like bad content.</summary>
    public static bool TryLoad(string path, [NotNullWhen(true)] out AttestationPolicyFile? policy, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(path);
        policy = null;
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > AppraisalPolicyJson.MaxPolicyBytes)
            {
                error = $"policy: {path} is larger than {AppraisalPolicyJson.MaxPolicyBytes} bytes";
                return false;
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"policy: cannot read {path} ({e.Message})";
            return false;
        }

        if (!TryParse(bytes, out policy, out error))
        {
            error = $"{path}: {error}";
            return false;
        }

        return true;
    }

    /// <summary>Parses a policy file from UTF-8 JSON.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Json, [NotNullWhen(true)] out AttestationPolicyFile? policy, [NotNullWhen(false)] out string? error)
    {
        policy = null;
        if (utf8Json.Length > AppraisalPolicyJson.MaxPolicyBytes)
        {
            error = $"policy: larger than {AppraisalPolicyJson.MaxPolicyBytes} bytes";
            return false;
        }

        if (utf8Json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8Json = utf8Json[3..];
        }

        try
        {
            using var document = JsonDocument.Parse(utf8Json.ToArray(), DocumentOptions);
            return TryRead(document.RootElement, out policy, out error);
        }
        catch (JsonException e)
        {
            error = $"policy: not valid JSON ({e.Message})";
            return false;
        }
        catch (InvalidOperationException)
        {
            error = AppraisalPolicyJson.InvalidUnicodeError;
            return false;
        }
    }

    /// <summary>Parses a policy file from JSON text.</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out AttestationPolicyFile? policy, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(json);
        return TryParse(Encoding.UTF8.GetBytes(json), out policy, out error);
    }

    /// <summary>The file's JSON (indented, every field present).</summary>
    public string Serialize()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            if (GeneratedBy is not null)
            {
                writer.WriteString("generatedBy", GeneratedBy);
            }

            writer.WritePropertyName("appraisal");
            AppraisalPolicyJson.Write(writer, Appraisal);
            writer.WriteBoolean("acceptWarnings", AcceptWarnings);
            if (SimulatedAttesterKey is not null)
            {
                writer.WriteString("simulatedAttesterKey", SimulatedAttesterKey);
            }

            writer.WriteStartArray("workers");
            foreach (var worker in Workers)
            {
                writer.WriteStartObject();
                writer.WriteString("measurement", worker.Measurement);
                writer.WriteStartArray("tenants");
                foreach (var tenant in worker.Tenants)
                {
                    writer.WriteStringValue(tenant);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartObject("functions");
            foreach (var (name, measurements) in Functions.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                writer.WriteStartArray(name);
                foreach (var measurement in measurements)
                {
                    writer.WriteStringValue(measurement);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static bool TryRead(JsonElement root, [NotNullWhen(true)] out AttestationPolicyFile? policy, [NotNullWhen(false)] out string? error)
    {
        policy = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "policy: the file must be a JSON object";
            return false;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (!KnownFields.Contains(property.Name))
            {
                error = $"policy: unknown field '{property.Name}' (known: {string.Join(", ", KnownFields)})";
                return false;
            }

            if (!seen.Add(property.Name))
            {
                error = $"policy: duplicate field '{property.Name}'";
                return false;
            }
        }

        string? generatedBy = null;
        if (root.TryGetProperty("generatedBy", out var marker))
        {
            if (marker.ValueKind != JsonValueKind.String)
            {
                error = "policy: 'generatedBy' must be a string";
                return false;
            }

            generatedBy = marker.GetString();
        }

        if (!root.TryGetProperty("appraisal", out var appraisalElement))
        {
            error = "policy: 'appraisal' is required (an appraisal policy object)";
            return false;
        }

        if (!AppraisalPolicyJson.TryParse(appraisalElement, out var appraisal, out var appraisalError))
        {
            error = $"policy: appraisal: {appraisalError}";
            return false;
        }

        var acceptWarnings = false;
        if (root.TryGetProperty("acceptWarnings", out var acceptElement))
        {
            if (acceptElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                error = "policy: 'acceptWarnings' must be true or false";
                return false;
            }

            acceptWarnings = acceptElement.GetBoolean();
        }

        string? simulatedKey = null;
        if (root.TryGetProperty("simulatedAttesterKey", out var keyElement) && keyElement.ValueKind != JsonValueKind.Null)
        {
            if (keyElement.ValueKind != JsonValueKind.String || !IsP256PublicKeyPem(keyElement.GetString()!))
            {
                error = "policy: 'simulatedAttesterKey' must be a P-256 public key in PEM (-----BEGIN PUBLIC KEY-----)";
                return false;
            }

            simulatedKey = keyElement.GetString();
        }

        if (!TryReadWorkers(root, out var workers, out error) || !TryReadFunctions(root, out var functions, out error))
        {
            return false;
        }

        policy = new AttestationPolicyFile
        {
            GeneratedBy = generatedBy,
            Appraisal = appraisal,
            AcceptWarnings = acceptWarnings,
            SimulatedAttesterKey = simulatedKey,
            Workers = workers,
            Functions = functions,
        };
        return true;
    }

    private static bool TryReadWorkers(JsonElement root, out List<WorkerRule> workers, [NotNullWhen(false)] out string? error)
    {
        workers = [];
        if (!root.TryGetProperty("workers", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            error = "policy: 'workers' is required: an array of {\"measurement\": hex or \"*\", \"tenants\": [...]}";
            return false;
        }

        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            var name = $"workers[{index++}]";
            if (item.ValueKind != JsonValueKind.Object || item.EnumerateObject().Any(p => p.Name is not ("measurement" or "tenants")))
            {
                error = $"policy: '{name}' must be an object with exactly 'measurement' and 'tenants'";
                return false;
            }

            if (!item.TryGetProperty("measurement", out var measurement) || measurement.ValueKind != JsonValueKind.String
                || measurement.GetString() is not { } text || (text != Any && !IsMeasurement(text.ToLowerInvariant())))
            {
                error = $"policy: '{name}.measurement' must be a SHA-384 hex string (96 digits) or \"*\"";
                return false;
            }

            if (!item.TryGetProperty("tenants", out var tenants) || tenants.ValueKind != JsonValueKind.Array
                || tenants.GetArrayLength() == 0 || tenants.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(t.GetString())))
            {
                error = $"policy: '{name}.tenants' must be a non-empty array of tenant ids or [\"*\"]";
                return false;
            }

            workers.Add(new WorkerRule(text.ToLowerInvariant(), [.. tenants.EnumerateArray().Select(t => t.GetString()!)]));
        }

        error = null;
        return true;
    }

    private static bool TryReadFunctions(JsonElement root, out Dictionary<string, IReadOnlyList<string>> functions, [NotNullWhen(false)] out string? error)
    {
        functions = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (!root.TryGetProperty("functions", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            error = null;
            return true;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            error = "policy: 'functions' must be an object of function name -> [measurement, ...]";
            return false;
        }

        foreach (var function in element.EnumerateObject())
        {
            if (function.Value.ValueKind != JsonValueKind.Array || function.Value.GetArrayLength() == 0
                || function.Value.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String || !IsMeasurement(m.GetString()!.ToLowerInvariant())))
            {
                error = $"policy: 'functions.{function.Name}' must be a non-empty array of SHA-384 hex strings (96 digits)";
                return false;
            }

            if (!functions.TryAdd(function.Name, [.. function.Value.EnumerateArray().Select(m => m.GetString()!.ToLowerInvariant())]))
            {
                error = $"policy: duplicate function '{function.Name}'";
                return false;
            }
        }

        error = null;
        return true;
    }

    private static bool IsMeasurement(string hex) => hex.Length == 96 && hex.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    private static bool IsP256PublicKeyPem(string pem)
    {
        // Only a public key: a private key pasted here by mistake would be published with the policy.
        if (!pem.Contains("-----BEGIN PUBLIC KEY-----", StringComparison.Ordinal) || pem.Contains("PRIVATE", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(pem);
            return key.ExportParameters(includePrivateParameters: false).Curve.Oid?.Value == "1.2.840.10045.3.1.7";
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            return false;
        }
    }
}
