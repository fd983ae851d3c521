using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cloister.Api.Contracts;
using Cloister.Client;
using Cloister.Functions;

namespace Cloister.Cli.Commands;

/// <summary>cloister functions deploy|invoke|list|get|delete, and cloister invocations get.</summary>
internal static class FunctionCommands
{
    /// <summary>The manifest file a function directory may hold; it is not part of the bundle.</summary>
    public const string ManifestFileName = "cloister.json";

    public static Command Build()
    {
        var functions = new Command("functions", "Deploy, invoke, list, inspect and delete functions.");
        functions.Subcommands.Add(Deploy());
        functions.Subcommands.Add(Invoke());
        functions.Subcommands.Add(List());
        functions.Subcommands.Add(Get());
        functions.Subcommands.Add(Delete());
        return functions;
    }

    public static Command BuildInvocations()
    {
        var id = new Argument<string>("id") { Description = "The invocation id (inv_…)." };
        var get = new Command("get", "Show an invocation's status, result or error.") { id };
        get.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var info = await settings.CreateClient(settings.TenantKey).GetInvocationAsync(parse.GetValue(id)!, cancellationToken);
            if (settings.Json)
            {
                Output.Json(info);
            }
            else
            {
                Output.Fields(
                    ("invocation", info.InvocationId), ("function", info.Function), ("status", info.Status), ("version", info.Version),
                    ("measurement", info.Measurement), ("result", info.Result), ("error", info.Error is { } e ? $"{e.Code}: {e.Detail}" : null),
                    ("duration ms", info.DurationMs), ("warm", info.Warm), ("created", info.CreatedAt), ("completed", info.CompletedAt));
            }

            return 0;
        });
        return new Command("invocations", "Inspect invocations.") { get };
    }

    private static Command Deploy()
    {
        var directory = new Argument<string>("dir") { Description = $"The function's directory; its {ManifestFileName}, if present, is the manifest (and is not uploaded as code)." };
        var name = new Option<string>("--name") { Description = "The function's name (1-64 of a-z, 0-9, '.', '_', '-').", Required = true };
        var runtime = new Option<string?>("--runtime") { Description = $"python3, node or native (overrides {ManifestFileName}; required without it)." };
        var entrypoint = new Option<string?>("--entrypoint") { Description = "The entrypoint's path in the directory (default main.py for python3, index.js for node)." };
        var command = new Command("deploy", "Deploy a directory as a new version of a function; prints the version and measurement.") { directory, name, runtime, entrypoint };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var dir = parse.GetValue(directory)!;
            var manifest = BuildManifest(dir, parse.GetValue(runtime), parse.GetValue(entrypoint));
            var bundle = ReadBundle(dir);
            var deployed = await settings.CreateClient(settings.TenantKey).DeployFunctionAsync(parse.GetValue(name)!, manifest, bundle, cancellationToken);
            if (settings.Json)
            {
                Output.Json(deployed);
            }
            else
            {
                Output.Fields(("name", deployed.Name), ("version", deployed.Version), ("runtime", deployed.Runtime), ("measurement", deployed.Measurement), ("created", deployed.CreatedAt));
            }

            return 0;
        });
        return command;
    }

    private static Command Invoke()
    {
        var name = new Argument<string>("name");
        var args = new Option<string?>("--args") { Description = "The args, a JSON object (default {}); {\"$token\": \"…\"} values are revealed inside the sandbox only." };
        var version = new Option<int?>("--version") { Description = "Run this version." };
        var measurement = new Option<string?>("--measurement") { Description = "Run the latest version only if it still has this measurement." };
        var background = new Option<bool>("--async") { Description = "Start the invocation and print its id; see 'cloister invocations get ID'." };
        var (sealedArgs, policy) = TokenCommands.SealedOptions("the args, result and logs");
        var command = new Command("invoke", "Invoke a function; prints its result (JSON).") { name, args, version, measurement, background, sealedArgs, policy };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var argsJson = ParseArgs(parse.GetValue(args));
            if (parse.GetValue(sealedArgs))
            {
                return await InvokeSealedAsync(settings, parse.GetValue(name)!, argsJson, settings.LoadPolicy(parse.GetValue(policy)), parse.GetValue(measurement), parse.GetValue(version), parse.GetValue(background), cancellationToken);
            }

            var pin = new InvokePin(parse.GetValue(version), parse.GetValue(measurement));
            var client = settings.CreateClient(settings.TenantKey);
            if (parse.GetValue(background))
            {
                var accepted = await client.StartInvocationAsync(parse.GetValue(name)!, argsJson, pin, cancellationToken);
                if (settings.Json)
                {
                    Output.Json(accepted);
                }
                else
                {
                    Console.WriteLine(accepted.InvocationId);
                }

                return 0;
            }

            InvocationSucceeded result;
            try
            {
                result = await client.InvokeFunctionAsync(parse.GetValue(name)!, argsJson, pin, cancellationToken);
            }
            catch (CloisterApiException e) when (e.Problem.InvocationId is { } failedId)
            {
                throw new CliException($"{e.Problem.Code}: {e.Problem.Detail} (invocation {failedId})");
            }

            if (settings.Json)
            {
                Output.Json(result);
            }
            else
            {
                PrintOutcome(result.Logs, result.Result);
                PrintRun(result.InvocationId, result.Function, result.Version, result.Measurement, result.Warm, result.DurationMs);
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// A sealed invocation: pins --measurement or the policy's pin for the function (a version pin cannot be verified,
    /// so it is refused), verifies the attestation, and prints the opened result. --async is refused: the result would be
    /// sealed to a key that lives only in this process.
    /// </summary>
    private static async Task<int> InvokeSealedAsync(CliSettings settings, string name, JsonElement args, Cloister.Attestation.Policy.AttestationPolicyFile policy, string? measurement, int? version, bool background, CancellationToken cancellationToken)
    {
        if (version is not null)
        {
            throw new CliException("--sealed pins a measurement, not a version: pass --measurement M (see 'cloister functions get NAME').", 2);
        }

        if (measurement is null && !policy.Functions.ContainsKey(name))
        {
            throw new CliException($"--sealed needs the function measurement to pin: pass --measurement M (from 'cloister functions get {name}') or add \"{name}\" to the policy's \"functions\".", 2);
        }

        if (background)
        {
            throw new CliException("--sealed --async is not supported by the CLI: the result is sealed to a key that lives only in this process; use the SDK's StartSealedInvocationAsync.", 2);
        }

        var result = await settings.CreateClient(settings.TenantKey).InvokeSealedAsync(name, args, policy, measurement, cancellationToken);
        if (settings.Json)
        {
            Output.Json(result);
        }
        else
        {
            PrintOutcome(result.Logs, result.Result.GetRawText());
            PrintRun(result.InvocationId, name, result.Version, result.Measurement, result.Warm, result.DurationMs);
        }

        return 0;
    }

    /// <summary>
    /// One line on stderr saying what ran: the version, the measurement, whether a warm sandbox served it (stdout stays the
    /// result alone, so scripts keep working; with --json the same fields are in the JSON).
    /// </summary>
    private static void PrintRun(string invocationId, string function, int version, string measurement, bool warm, long? durationMs)
        => Console.Error.WriteLine($"cloister: invocation {invocationId}: {function} v{version}, measurement {measurement}, {(warm ? "warm sandbox" : "cold start")}{(durationMs is { } ms ? $", {ms} ms" : "")}");

    /// <summary>The function's log lines on stderr, its result on stdout.</summary>
    private static void PrintOutcome(IEnumerable<string> logs, string resultJson)
    {
        foreach (var line in logs)
        {
            Console.Error.WriteLine($"log: {line}");
        }

        Console.WriteLine(resultJson);
    }

    private static Command List()
    {
        var command = new Command("list", "List this tenant's functions with their latest versions.");
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var list = await settings.CreateClient(settings.TenantKey).ListFunctionsAsync(cancellationToken);
            if (settings.Json)
            {
                Output.Json(list);
            }
            else
            {
                foreach (var f in list.Functions)
                {
                    Console.WriteLine($"{f.Name}\tv{f.LatestVersion}\t{f.Runtime}\t{f.Measurement}");
                }
            }

            return 0;
        });
        return command;
    }

    private static Command Get()
    {
        var name = new Argument<string>("name");
        var command = new Command("get", "Show a function's versions and measurements.") { name };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var detail = await settings.CreateClient(settings.TenantKey).GetFunctionAsync(parse.GetValue(name)!, cancellationToken);
            if (settings.Json)
            {
                Output.Json(detail);
            }
            else
            {
                Console.WriteLine(detail.Name);
                foreach (var v in detail.Versions)
                {
                    Console.WriteLine($"v{v.Version}\t{v.Runtime}\t{v.Measurement}\t{v.CreatedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture)}");
                }
            }

            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("name");
        var command = new Command("delete", "Delete a function and all its versions.") { name };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            await settings.CreateClient(settings.TenantKey).DeleteFunctionAsync(parse.GetValue(name)!, cancellationToken);
            if (!settings.Json)
            {
                Console.WriteLine("deleted");
            }

            return 0;
        });
        return command;
    }

    /// <summary>The manifest: DIR/cloister.json if present, else built from the flags; --runtime and --entrypoint override either way.</summary>
    internal static JsonElement BuildManifest(string directory, string? runtime, string? entrypoint)
    {
        if (!Directory.Exists(directory))
        {
            throw new CliException($"'{directory}' is not a directory.", 2);
        }

        JsonObject manifest;
        var path = Path.Combine(directory, ManifestFileName);
        if (File.Exists(path))
        {
            try
            {
                manifest = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject
                    ?? throw new CliException($"{path} must hold a JSON object.", 2);
            }
            catch (JsonException)
            {
                throw new CliException($"{path} is not valid JSON.", 2);
            }
        }
        else
        {
            manifest = [];
        }

        if (runtime is not null)
        {
            manifest["runtime"] = runtime;
        }

        if (manifest["runtime"] is null)
        {
            throw new CliException($"--runtime is required (python3, node or native) when {ManifestFileName} does not name one.", 2);
        }

        var defaultEntrypoint = manifest["runtime"]?.GetValueKind() == JsonValueKind.String
            ? manifest["runtime"]!.GetValue<string>() switch { "python3" => "main.py", "node" => "index.js", _ => null }
            : null;
        if (entrypoint is not null || (manifest["entrypoint"] is null && defaultEntrypoint is not null))
        {
            manifest["entrypoint"] = entrypoint ?? defaultEntrypoint;
        }

        return JsonSerializer.SerializeToElement(manifest, ClientJsonContextNodes.Default.JsonObject);
    }

    /// <summary>The directory's files (without the manifest file) as the canonical tar.gz.</summary>
    internal static byte[] ReadBundle(string directory)
    {
        if (!FunctionBundle.TryReadDirectory(directory, BundleLimits.Default, out var all, out var error)
            || !FunctionBundle.TryCreate(all.Files.Where(f => f.Path != ManifestFileName), BundleLimits.Default, out var bundle, out error))
        {
            throw new CliException(error, 2);
        }

        using var tar = new MemoryStream();
        bundle.WriteTarGz(tar);
        return tar.ToArray();
    }

    private static JsonElement ParseArgs(string? text)
    {
        if (text is null)
        {
            return JsonSerializer.SerializeToElement(new JsonObject(), ClientJsonContextNodes.Default.JsonObject);
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.Clone()
                : throw new CliException("--args must be a JSON object.", 2);
        }
        catch (JsonException)
        {
            // Never echo the text: args may hold sensitive values.
            throw new CliException("--args is not valid JSON.", 2);
        }
    }
}

/// <summary>Source-generated JSON for the manifest nodes the CLI builds.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(JsonObject))]
internal sealed partial class ClientJsonContextNodes : System.Text.Json.Serialization.JsonSerializerContext;
