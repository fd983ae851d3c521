using System.Text.Json;
using System.Text.RegularExpressions;
using Cloister.Functions;
using Cloister.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cloister.Server.Functions;

/// <summary>A deploy request that passed validation: the parsed manifest, the bundle, and what is stored.</summary>
internal sealed record ValidDeploy(FunctionManifest Manifest, string CanonicalManifestJson, byte[] CanonicalBundle, string Measurement);

/// <summary>An invoke request that passed validation (the pins are checked against storage later).</summary>
internal sealed record ValidInvoke(string ArgsJson, int? Version, string? Measurement);

/// <summary>Checks function names and deploy/invoke bodies before anything is stored or sent to the enclave.</summary>
internal static partial class FunctionValidation
{
    /// <summary>Function names: 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit.</summary>
    public const string NameRule = "1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit";

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public static ProblemHttpResult InvalidName()
        => Problems.Invalid("invalid-function-name", "Invalid function name", $"A function name must be {NameRule}.");

    /// <summary>Validates a deploy body: manifest (errors name the field), bundle (base64 of a tar.gz within the limits).</summary>
    public static (ValidDeploy? Deploy, ProblemHttpResult? Problem) ValidateDeploy(DeployFunctionRequest body, BundleLimits limits)
    {
        if (body.Manifest is not { ValueKind: JsonValueKind.Object } manifestElement)
        {
            return Fail("invalid-manifest", "Invalid manifest", "'manifest' is required and must be a JSON object.");
        }

        if (string.IsNullOrEmpty(body.Bundle))
        {
            return Fail("invalid-bundle", "Invalid bundle", "'bundle' is required: base64 of a tar.gz archive.");
        }

        byte[] archive;
        try
        {
            archive = Convert.FromBase64String(body.Bundle);
        }
        catch (FormatException)
        {
            return Fail("invalid-bundle", "Invalid bundle", "'bundle' is not valid base64.");
        }

        FunctionBundle? bundle;
        string? error;
        using (var stream = new MemoryStream(archive, writable: false))
        {
            if (!FunctionBundle.TryReadTarGz(stream, limits, out bundle, out error))
            {
                return Fail("invalid-bundle", "Invalid bundle", error);
            }
        }

        var manifestJson = JsonSerializer.SerializeToUtf8Bytes(manifestElement, ApiJsonContext.Default.JsonElement);
        if (!FunctionManifestJson.TryParse(manifestJson, bundle, out var manifest, out error))
        {
            // Errors start with the field they concern ("egress: …", "limits.memoryMiB: …").
            var detail = error.StartsWith("manifest:", StringComparison.Ordinal) ? error : "manifest." + error;
            return error.StartsWith("egress:", StringComparison.Ordinal)
                ? Fail("egress-not-supported", "Egress not supported", detail)
                : Fail("invalid-manifest", "Invalid manifest", detail);
        }

        using var canonical = new MemoryStream();
        bundle.WriteTarGz(canonical);
        var canonicalManifest = System.Text.Encoding.UTF8.GetString(FunctionManifestJson.ToCanonicalJson(manifest));
        return (new ValidDeploy(manifest, canonicalManifest, canonical.ToArray(), FunctionMeasurement.Compute(manifest, bundle)), null);
    }

    /// <summary>Validates an invoke body's shape: args an object (absent: {}), version ≥ 1, measurement 96 lower-case hex digits.</summary>
    public static (ValidInvoke? Invoke, ProblemHttpResult? Problem) ValidateInvoke(InvokeFunctionBody body, int maxArgsBytes)
    {
        var argsJson = "{}";
        if (body.Args is { } args && args.ValueKind != JsonValueKind.Null)
        {
            if (args.ValueKind != JsonValueKind.Object)
            {
                return FailInvoke("'args' must be a JSON object.");
            }

            argsJson = args.GetRawText();
            if (System.Text.Encoding.UTF8.GetByteCount(argsJson) > maxArgsBytes)
            {
                return (null, Problems.Invalid("args-too-large", "Args too large", $"'args' exceeds the limit of {maxArgsBytes} bytes."));
            }
        }

        if (body.Version is < 1)
        {
            return FailInvoke("'version' must be a positive integer.");
        }

        if (body.Measurement is { } measurement && !MeasurementPattern().IsMatch(measurement))
        {
            return FailInvoke("'measurement' must be 96 lower-case hexadecimal digits (SHA-384).");
        }

        return (new ValidInvoke(argsJson, body.Version, body.Measurement), null);

        static (ValidInvoke?, ProblemHttpResult?) FailInvoke(string detail) => (null, Problems.Invalid(detail));
    }

    private static (ValidDeploy?, ProblemHttpResult?) Fail(string code, string title, string detail)
        => (null, Problems.Invalid(code, title, detail));

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,63}\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[0-9a-f]{96}\z")]
    private static partial Regex MeasurementPattern();
}
