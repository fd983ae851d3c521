using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Cloister.Attestation.Policy;

namespace Cloister.Attestation.Results;

/// <summary>
/// The payload of a signed attestation result: an EAR claim set (draft-fv-rats-ear, Veraison profile) with one
/// submod named after the TEE, followed by Cloister's normalized claims.
/// </summary>
/// <remarks>
/// <code>
/// { "eat_profile": "tag:github.com,2023:veraison/ear", "iat": 1700000000, "exp": 1700000300 (optional),
///   "ear.verifier-id": { "developer": "Cloister", "build": "..." },
///   "submods": { "sev-snp": { "ear.status": "affirming", "ear.appraisal-policy-id": "default" } },
///   "tee": "sev-snp", "measurement": "hex"|null, "debug": false|null, "tcb": "..."|null, "tcbStatus": "..."|null,
///   "advisoryIds": [], "reportData": "hex"|null, "nonce": "hex"|null, "evidenceTime": "RFC 3339"|null,
///   "extra": { "name": "value" }, "policyId": "default", "policyDigest": "sha-256:hex", "verifiedAt": "RFC 3339",
///   "verdict": "affirming",
///   "checks": [ { "name": "...", "status": "pass|fail|not-evaluated", "reason": "..."|null, "impact": "affirming|warning|contraindicated" } ] }
/// </code>
/// </remarks>
internal static class EarClaimSet
{
    public const string Profile = "tag:github.com,2023:veraison/ear";

    public const string Developer = "Cloister";

    public static byte[] Write(AttestationResult result, AppraisalContext appraisal, string verifierBuild, DateTimeOffset issuedAt, DateTimeOffset? expiresAt)
    {
        var policyId = appraisal.PolicyId;
        var claims = result.Claims;
        var tee = TeeNames.ToName(claims.Tee);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("eat_profile", Profile);
            writer.WriteNumber("iat", issuedAt.ToUnixTimeSeconds());
            if (expiresAt is { } exp)
            {
                writer.WriteNumber("exp", exp.ToUnixTimeSeconds());
            }

            writer.WriteStartObject("ear.verifier-id");
            writer.WriteString("developer", Developer);
            writer.WriteString("build", verifierBuild);
            writer.WriteEndObject();
            writer.WriteStartObject("submods");
            writer.WriteStartObject(tee);
            writer.WriteString("ear.status", VerdictName(result.Verdict));
            writer.WriteString("ear.appraisal-policy-id", policyId);
            writer.WriteEndObject();
            writer.WriteEndObject();

            writer.WriteString("tee", tee);
            WriteNullable(writer, "measurement", claims.Measurement);
            if (claims.Debug is { } debug)
            {
                writer.WriteBoolean("debug", debug);
            }
            else
            {
                writer.WriteNull("debug");
            }

            WriteNullable(writer, "tcb", claims.Tcb);
            WriteNullable(writer, "tcbStatus", claims.TcbStatus);
            writer.WriteStartArray("advisoryIds");
            foreach (var id in claims.AdvisoryIds)
            {
                writer.WriteStringValue(id);
            }

            writer.WriteEndArray();
            WriteNullable(writer, "reportData", claims.ReportData);
            WriteNullable(writer, "nonce", claims.Nonce);
            WriteNullable(writer, "evidenceTime", claims.IssuedAt is { } evidenceTime ? Rfc3339(evidenceTime) : null);
            writer.WriteStartObject("extra");
            foreach (var (name, value) in claims.Extra.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
            writer.WriteString("policyId", policyId);
            writer.WriteString("policyDigest", appraisal.PolicyDigest);
            writer.WriteString("verifiedAt", Rfc3339(appraisal.VerifiedAt));
            writer.WriteString("verdict", VerdictName(result.Verdict));
            writer.WriteStartArray("checks");
            foreach (var check in result.Checks)
            {
                writer.WriteStartObject();
                writer.WriteString("name", check.Name);
                writer.WriteString("status", StatusName(check.Status));
                WriteNullable(writer, "reason", check.Reason);
                writer.WriteString("impact", VerdictName(check.Impact));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a claim set written by <see cref="Write"/>; anything inconsistent is an error value.</summary>
    public static bool TryRead(
        byte[] payload,
        [NotNullWhen(true)] out AttestationResult? result,
        [NotNullWhen(true)] out AppraisalContext? appraisal,
        out DateTimeOffset issuedAt,
        out DateTimeOffset? expiresAt,
        [NotNullWhen(false)] out string? error)
    {
        result = null;
        appraisal = null;
        issuedAt = default;
        expiresAt = null;
        try
        {
            using var document = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = 16 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "claims: not a JSON object";
                return false;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    error = $"claims: \"{property.Name}\" appears more than once";
                    return false;
                }
            }

            if (GetString(root, "eat_profile") != Profile)
            {
                error = $"claims: eat_profile is not \"{Profile}\"";
                return false;
            }

            if (!TryGetUnixTime(root, "iat", out var iat) || iat is null)
            {
                error = "claims: iat must be an integer time";
                return false;
            }

            issuedAt = iat.Value;
            if (root.TryGetProperty("exp", out _))
            {
                if (!TryGetUnixTime(root, "exp", out expiresAt) || expiresAt is null)
                {
                    error = "claims: exp must be an integer time";
                    return false;
                }
            }

            if (!TeeNames.TryParse(GetString(root, "tee"), out var tee))
            {
                error = "claims: tee is missing or unknown";
                return false;
            }

            if (!TryParseVerdict(GetString(root, "verdict"), out var verdict))
            {
                error = "claims: verdict is missing or unknown";
                return false;
            }

            var policyId = GetString(root, "policyId");
            if (policyId is null)
            {
                error = "claims: policyId is missing";
                return false;
            }

            var policyDigest = GetString(root, "policyDigest");
            if (!AppraisalContext.IsDigest(policyDigest))
            {
                error = "claims: policyDigest is missing or not sha-256:<64 hex digits>";
                return false;
            }

            if (!TryGetUnixTimeText(root, "verifiedAt", out var verifiedAt) || verifiedAt is null)
            {
                error = "claims: verifiedAt is missing or not an RFC 3339 time";
                return false;
            }

            // The EAR view and the normalized view must say the same thing: a relying party may read either.
            if (!root.TryGetProperty("submods", out var submods) || submods.ValueKind != JsonValueKind.Object
                || !submods.TryGetProperty(TeeNames.ToName(tee), out var submod) || submod.ValueKind != JsonValueKind.Object
                || GetString(submod, "ear.status") != VerdictName(verdict)
                || GetString(submod, "ear.appraisal-policy-id") != policyId)
            {
                error = "claims: submods disagree with tee, verdict or policyId";
                return false;
            }

            if (!TryReadChecks(root, out var checks, out error))
            {
                return false;
            }

            if (!TryGetUnixTimeText(root, "evidenceTime", out var evidenceTime))
            {
                error = "claims: evidenceTime is not an RFC 3339 time";
                return false;
            }

            var claims = new AttestationClaims
            {
                Tee = tee,
                Measurement = GetString(root, "measurement"),
                Debug = root.TryGetProperty("debug", out var debug) && debug.ValueKind is JsonValueKind.True or JsonValueKind.False ? debug.GetBoolean() : null,
                Tcb = GetString(root, "tcb"),
                TcbStatus = GetString(root, "tcbStatus"),
                AdvisoryIds = GetStrings(root, "advisoryIds"),
                ReportData = GetString(root, "reportData"),
                Nonce = GetString(root, "nonce"),
                IssuedAt = evidenceTime,
                Extra = GetStringMap(root, "extra"),
            };
            result = new AttestationResult(verdict, claims, checks);
            appraisal = new AppraisalContext(policyId, policyDigest, verifiedAt.Value);
            error = null;
            return true;
        }
        catch (JsonException)
        {
            error = "claims: not valid JSON";
            return false;
        }
        catch (InvalidOperationException)
        {
            error = "claims: a member has the wrong type";
            return false;
        }
    }

    internal static string VerdictName(Verdict verdict) => verdict switch
    {
        Verdict.Affirming => "affirming",
        Verdict.Warning => "warning",
        _ => "contraindicated",
    };

    private static string StatusName(CheckStatus status) => status switch
    {
        CheckStatus.Pass => "pass",
        CheckStatus.Fail => "fail",
        _ => "not-evaluated",
    };

    private static bool TryParseVerdict(string? text, out Verdict verdict)
    {
        (var ok, verdict) = text switch
        {
            "affirming" => (true, Verdict.Affirming),
            "warning" => (true, Verdict.Warning),
            "contraindicated" => (true, Verdict.Contraindicated),
            _ => (false, Verdict.Contraindicated),
        };
        return ok;
    }

    private static bool TryReadChecks(JsonElement root, [NotNullWhen(true)] out List<Check>? checks, [NotNullWhen(false)] out string? error)
    {
        checks = null;
        if (!root.TryGetProperty("checks", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            error = "claims: checks must be an array";
            return false;
        }

        var list = new List<Check>();
        foreach (var item in array.EnumerateArray())
        {
            var name = item.ValueKind == JsonValueKind.Object ? GetString(item, "name") : null;
            if (name is null)
            {
                error = "claims: a check has no name";
                return false;
            }

            CheckStatus? status = GetString(item, "status") switch
            {
                "pass" => CheckStatus.Pass,
                "fail" => CheckStatus.Fail,
                "not-evaluated" => CheckStatus.NotEvaluated,
                _ => null,
            };
            if (status is null || !TryParseVerdict(GetString(item, "impact"), out var impact))
            {
                error = $"claims: check \"{name}\" has an unknown status or impact";
                return false;
            }

            list.Add(new Check(name, status.Value, GetString(item, "reason"), impact));
        }

        checks = list;
        error = null;
        return true;
    }

    private static string? GetString(JsonElement parent, string name)
        => parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static List<string> GetStrings(JsonElement parent, string name)
        => parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToList()
            : [];

    private static Dictionary<string, string> GetStringMap(JsonElement parent, string name)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in value.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    map[property.Name] = property.Value.GetString()!;
                }
            }
        }

        return map;
    }

    private static bool TryGetUnixTime(JsonElement parent, string name, out DateTimeOffset? time)
    {
        time = null;
        if (!parent.TryGetProperty(name, out var value))
        {
            return true;
        }

        // Year 1..9999 only: FromUnixTimeSeconds throws outside it.
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var seconds) || seconds < -62135596800 || seconds > 253402300799)
        {
            return false;
        }

        time = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }

    private static bool TryGetUnixTimeText(JsonElement parent, string name, out DateTimeOffset? time)
    {
        time = null;
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (value.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            time = parsed;
            return true;
        }

        return false;
    }

    private static string Rfc3339(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static void WriteNullable(Utf8JsonWriter writer, string name, string? value)
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
}
