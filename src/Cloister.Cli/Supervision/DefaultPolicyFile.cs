using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cloister.Cli.Supervision;

/// <summary>What <see cref="DefaultPolicyFile.Ensure"/> did.</summary>
/// <param name="Path">The policy file.</param>
/// <param name="Action">"created", "updated", "unchanged" (serve's own file) or "operator" (not serve's: left alone).</param>
/// <param name="AllowsSimulated">Whether the policy accepts simulated evidence.</param>
internal sealed record PolicyOutcome(string Path, string Action, bool AllowsSimulated)
{
    /// <summary>Whether the file's content changed (the key broker must reload it).</summary>
    public bool Changed => Action is "created" or "updated";
}

/// <summary>
/// The embedded single-node attestation policy (<c>attestation-policy.json</c> in the data directory): written by
/// <c>serve</c> when absent, with an explicit opt-in for simulated evidence so that the quickstart works on a
/// machine without a TEE; its worker pin follows the worker's measurement. A file without serve's
/// <c>generatedBy</c> marker is an operator's and is never rewritten.
/// </summary>
internal static class DefaultPolicyFile
{
    /// <summary>The policy file's name in the data directory.</summary>
    public const string FileName = "attestation-policy.json";

    /// <summary>The marker that makes a policy file serve's to rewrite.</summary>
    public const string GeneratedBy = "cloister serve (embedded default)";

    /// <summary>The worker writes the simulated attester's public key here (the private key never leaves it).</summary>
    public const string SimulatedAttesterPublicKeyFile = "simulated-attester.pub.pem";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static PolicyOutcome Ensure(string dataDirectory, string workerMeasurement)
    {
        var path = Path.Combine(dataDirectory, FileName);
        var publicKeyPath = Path.Combine(dataDirectory, SimulatedAttesterPublicKeyFile);
        var publicKey = File.Exists(publicKeyPath) ? File.ReadAllText(publicKeyPath).Trim() : null;
        JsonObject? existing = null;
        if (File.Exists(path))
        {
            existing = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new CliException($"{path} is not a JSON object.");
            if ((string?)existing["generatedBy"] != GeneratedBy)
            {
                return new PolicyOutcome(path, "operator", AllowsSimulated(existing));
            }
        }

        var policy = existing is null ? Default() : (JsonObject)existing.DeepClone();
        policy["workers"] = new JsonArray(new JsonObject { ["measurement"] = workerMeasurement, ["tenants"] = new JsonArray("*") });
        if (publicKey is not null)
        {
            policy["simulatedAttesterKey"] = publicKey;
        }

        if (existing is not null && JsonNode.DeepEquals(existing, policy))
        {
            return new PolicyOutcome(path, "unchanged", AllowsSimulated(policy));
        }

        var temporary = path + ".tmp";
        File.WriteAllText(temporary, policy.ToJsonString(Indented) + "\n");
        File.Move(temporary, path, overwrite: true);
        return new PolicyOutcome(path, existing is null ? "created" : "updated", AllowsSimulated(policy));
    }

    private static JsonObject Default() => new()
    {
        ["generatedBy"] = GeneratedBy,
        ["appraisal"] = new JsonObject
        {
            ["id"] = "cloister-embedded-default",
            // "simulated" is the explicit opt-in: without it, evidence signed by the local simulated attester is refused.
            ["allowedTees"] = new JsonArray("sev-snp", "tdx", "nitro", "simulated"),
        },
    };

    private static bool AllowsSimulated(JsonObject policy)
        => policy["appraisal"]?["allowedTees"] is JsonArray tees && tees.Any(t => t?.GetValueKind() == JsonValueKind.String && (string?)t == "simulated");
}
