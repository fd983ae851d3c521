using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Attestation;
using Cloister.Attestation.Policy;

namespace Cloister.Cli.Commands;

/// <summary>
/// cloister attest verify: appraises evidence locally and prints each check and the verdict.
/// Exit codes: 0 affirming, 3 warning, 1 contraindicated, 2 unreadable input or arguments.
/// </summary>
internal static class AttestCommand
{
    // Far above any real evidence or collateral; the verifiers bound their own parsing too.
    private const long MaxFileBytes = 64 * 1024 * 1024;

    public static Command Build()
    {
        var type = new Option<string>("--type") { Description = "sev-snp, tdx, sgx, nitro or simulated.", Required = true };
        var evidence = new Option<string>("--evidence") { Description = "The report, quote or attestation document.", Required = true };
        var certs = new Option<string[]>("--cert") { Description = "A certificate (DER or PEM; VCEK/VLEK, chains). Repeatable." };
        var collateral = new Option<string[]>("--collateral") { Description = "TDX/SGX collateral: the JSON bundle, or TCB info / QE identity / CRL files. Repeatable." };
        var policy = new Option<string?>("--policy") { Description = "Appraisal policy JSON (docs/attestation.md); the default policy otherwise." };
        var at = new Option<string?>("--at") { Description = "Verify as of this time (ISO 8601, UTC unless an offset is given); default now." };
        var attester = new Option<string?>("--attester-key") { Description = "PEM public key of the simulated attester (for --type simulated)." };
        var verify = new Command("verify", "Verify attestation evidence and print the checks and the verdict (exit 0 affirming, 3 warning, 1 contraindicated, 2 unreadable input).")
        {
            type, evidence, certs, collateral, policy, at, attester,
        };
        verify.SetHandler((parse, _) => Task.FromResult(Run(parse, type, evidence, certs, collateral, policy, at, attester)));
        return new Command("attest", "Attestation tools.") { verify, Policy() };
    }

    /// <summary>
    /// cloister attest policy [--strict]: prints the attestation policy sealed commands use by default; with --strict,
    /// the same pins without the development opt-ins, for <c>--sealed --policy FILE</c> or a key broker.
    /// </summary>
    private static Command Policy()
    {
        var from = new Option<string?>("--policy") { Description = "The policy to start from (default: <data-dir>/attestation-policy.json, which 'cloister serve' writes)." };
        var strict = new Option<bool>("--strict") { Description = "Drop the development opt-ins: no simulated evidence (nor its key), no 'warning' verdicts, no debug TEEs or migration agents; the worker and function pins stay. Only a hardware-attested worker passes it." };
        var command = new Command("policy", "Print an attestation policy (JSON) on stdout, e.g. 'cloister attest policy --strict > strict-policy.json' for 'tokens reveal --sealed --policy strict-policy.json'.") { from, strict };
        command.SetHandler((parse, cancellationToken) =>
        {
            var policy = CliSettings.From(parse).ReadPolicy(parse.GetValue(from), out _);
            Console.Write((parse.GetValue(strict) ? Strict(policy) : policy).Serialize());
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>
    /// <paramref name="policy"/> without what only a development machine needs. The generatedBy marker goes too: serve
    /// never rewrites the result, even when it is saved as the data directory's policy.
    /// </summary>
    internal static AttestationPolicyFile Strict(AttestationPolicyFile policy) => policy with
    {
        GeneratedBy = null,
        AcceptWarnings = false,
        SimulatedAttesterKey = null,
        Appraisal = policy.Appraisal with
        {
            Id = policy.Appraisal.Id + "-strict",
            AllowedTees = policy.Appraisal.AllowedTees.Where(tee => tee != TeeType.Simulated).ToHashSet(),
            AllowDebug = false,
            AllowMigrationAgent = false,
        },
    };

    private static int Run(ParseResult parse, Option<string> type, Option<string> evidence, Option<string[]> certs, Option<string[]> collateral, Option<string?> policyOption, Option<string?> atOption, Option<string?> attester)
    {
        if (!TeeNames.TryParse(parse.GetValue(type), out var tee))
        {
            throw new CliException($"--type must be one of: {string.Join(", ", TeeNames.All)}.", 2);
        }

        var policy = new AppraisalPolicy();
        if (parse.GetValue(policyOption) is { } policyPath && !AppraisalPolicyJson.TryLoad(policyPath, out policy, out var policyError))
        {
            throw new CliException($"--policy: {policyError}", 2);
        }

        var at = DateTimeOffset.UtcNow;
        if (parse.GetValue(atOption) is { } atText
            && !DateTimeOffset.TryParse(atText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at))
        {
            throw new CliException($"--at: '{atText}' is not an ISO 8601 time.", 2);
        }

        using var attesterKey = LoadAttesterKey(parse.GetValue(attester));
        var bundle = new EvidenceBundle(
            tee,
            ReadFile(parse.GetValue(evidence)!, "--evidence"),
            (parse.GetValue(certs) ?? []).Select(p => ReadFile(p, "--cert")).ToList(),
            parse.GetValue(collateral) is { Length: > 0 } files ? files.Select(p => ReadFile(p, "--collateral")).ToList() : null);
        var result = AttestationVerifiers.CreateDefault(attesterKey).Verify(bundle, policy!, at);

        if (parse.GetValue(GlobalOptions.Json))
        {
            PrintJson(result, policy!, at);
        }
        else
        {
            PrintTable(result, parse.GetValue(evidence)!, policy!, at);
        }

        return result.Verdict switch
        {
            Verdict.Affirming => 0,
            Verdict.Warning => 3,
            _ => 1,
        };
    }

    private static void PrintTable(AttestationResult result, string evidencePath, AppraisalPolicy policy, DateTimeOffset at)
    {
        Console.WriteLine($"evidence  {TeeNames.ToName(result.Claims.Tee)}  {Path.GetFileName(evidencePath)}");
        Console.WriteLine($"as of     {at:yyyy-MM-ddTHH:mm:ssZ}");
        Console.WriteLine($"policy    {policy.Id}  {AppraisalPolicyJson.Digest(policy)}");
        var width = Math.Max(12, result.Checks.Max(c => c.Name.Length));
        foreach (var check in result.Checks)
        {
            var mark = check.Status switch
            {
                CheckStatus.Pass => "pass",
                CheckStatus.Fail => check.Impact == Verdict.Warning ? "WARN" : "FAIL",
                _ => check.Impact == Verdict.Warning ? "WARN" : "----",
            };
            Console.WriteLine($"  {mark}  {check.Name.PadRight(width)}  {check.Reason}");
        }

        if (result.Claims.Measurement is { } measurement)
        {
            Console.WriteLine($"measurement  {measurement}");
        }

        Console.WriteLine($"verdict   {result.Verdict.ToString().ToLowerInvariant()}");
    }

    private static void PrintJson(AttestationResult result, AppraisalPolicy policy, DateTimeOffset at)
    {
        using var stream = Console.OpenStandardOutput();
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("verdict", result.Verdict.ToString().ToLowerInvariant());
        json.WriteString("tee", TeeNames.ToName(result.Claims.Tee));
        json.WriteString("policyId", policy.Id);
        json.WriteString("policyDigest", AppraisalPolicyJson.Digest(policy));
        json.WriteString("at", at);
        json.WriteString("measurement", result.Claims.Measurement);
        if (result.Claims.Debug is { } debug)
        {
            json.WriteBoolean("debug", debug);
        }

        json.WriteString("tcbStatus", result.Claims.TcbStatus);
        json.WriteString("reportData", result.Claims.ReportData);
        json.WriteStartArray("checks");
        foreach (var check in result.Checks)
        {
            json.WriteStartObject();
            json.WriteString("name", check.Name);
            json.WriteString("status", check.Status switch
            {
                CheckStatus.Pass => "pass",
                CheckStatus.Fail => "fail",
                _ => "not-evaluated",
            });
            json.WriteString("reason", check.Reason);
            json.WriteString("impact", check.Impact.ToString().ToLowerInvariant());
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        Console.WriteLine();
    }

    private static byte[] ReadFile(string path, string option)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new CliException($"{option}: no such file '{path}'.", 2);
            }

            return info.Length > MaxFileBytes
                ? throw new CliException($"{option}: '{path}' is larger than {MaxFileBytes / (1024 * 1024)} MiB.", 2)
                : File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{option}: cannot read '{path}' ({e.GetType().Name}).", 2);
        }
    }

    private static ECDsa? LoadAttesterKey(string? path)
    {
        if (path is null)
        {
            return null;
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            return key;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new CliException($"--attester-key: cannot read a PEM public key from '{path}'.", 2);
        }
    }
}
