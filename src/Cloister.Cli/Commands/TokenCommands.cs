using System.CommandLine;
using System.Text.Json;
using Cloister.Api.Contracts;
using Cloister.Client;

namespace Cloister.Cli.Commands;

/// <summary>cloister tokens create|get|reveal|delete|search.</summary>
internal static class TokenCommands
{
    public static Command Build()
    {
        var tokens = new Command("tokens", "Create, inspect, reveal, delete and search tokens.");
        tokens.Subcommands.Add(Create());
        tokens.Subcommands.Add(Get());
        tokens.Subcommands.Add(Reveal());
        tokens.Subcommands.Add(Delete());
        tokens.Subcommands.Add(Search());
        return tokens;
    }

    private static Option<bool> SealedOption(string what) => new("--sealed") { Description = $"Seal {what} to the attested enclave worker after verifying its attestation against the policy; the router never sees it." };

    private static Option<string?> PolicyOption() => new("--policy") { Description = "The attestation policy file for --sealed (default: <data-dir>/attestation-policy.json)." };

    private static Argument<string> ValueArgument() => new("value") { Description = "The sensitive value ('-' reads it from standard input, which keeps it out of shell history)." };

    private static Command Create()
    {
        var value = ValueArgument();
        var format = new Option<string?>("--format") { Description = "random (default), numeric, pan, pan-last4, ssn-last4 or fpe." };
        var alphabet = new Option<string?>("--alphabet") { Description = "For fpe: digits (default), lower-alnum or alnum." };
        var classifier = new Option<string?>("--classifier") { Description = "What kind of value this is (default generic); function permissions name it." };
        var deterministic = new Option<bool>("--deterministic") { Description = "The same value gets the same token." };
        var ttl = new Option<long?>("--ttl") { Description = "Seconds until the token expires." };
        var metadata = new Option<string?>("--metadata") { Description = "A JSON object stored with the token." };
        var sealedValue = SealedOption("the value");
        var policy = PolicyOption();
        var command = new Command("create", "Tokenize a value; prints the token.") { value, format, alphabet, classifier, deterministic, ttl, metadata, sealedValue, policy };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            JsonElement? meta = null;
            if (parse.GetValue(metadata) is { } text)
            {
                try
                {
                    meta = JsonDocument.Parse(text).RootElement.Clone();
                }
                catch (JsonException)
                {
                    throw new CliException("--metadata is not valid JSON.", 2);
                }
            }

            var options = new TokenizeOptions(parse.GetValue(format), parse.GetValue(alphabet), parse.GetValue(classifier),
                parse.GetValue(deterministic) ? true : null, parse.GetValue(ttl), meta);
            var client = settings.CreateClient(settings.TenantKey);
            var plaintext = ReadValue(parse.GetValue(value)!);
            var created = parse.GetValue(sealedValue)
                ? await client.CreateSealedTokenAsync(plaintext, settings.LoadPolicy(parse.GetValue(policy)), options, cancellationToken)
                : await client.CreateTokenAsync(plaintext, options, cancellationToken);
            if (settings.Json)
            {
                Output.Json(created);
            }
            else
            {
                Console.WriteLine(created.Token);
            }

            return 0;
        });
        return command;
    }

    private static Command Get()
    {
        var token = new Argument<string>("token");
        var command = new Command("get", "Show a token's metadata and mask (never the value).") { token };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var info = await settings.CreateClient(settings.TenantKey).GetTokenAsync(parse.GetValue(token)!, cancellationToken);
            if (settings.Json)
            {
                Output.Json(info);
            }
            else
            {
                Output.Token(info);
            }

            return 0;
        });
        return command;
    }

    private static Command Reveal()
    {
        var token = new Argument<string>("token");
        var sealedValue = SealedOption("the answer");
        var policy = PolicyOption();
        var command = new Command("reveal", "Print a token's value (needs the tokens:reveal scope; audited).") { token, sealedValue, policy };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var client = settings.CreateClient(settings.TenantKey);
            var value = parse.GetValue(sealedValue)
                ? await client.RevealSealedAsync(parse.GetValue(token)!, settings.LoadPolicy(parse.GetValue(policy)), cancellationToken)
                : await client.RevealAsync(parse.GetValue(token)!, cancellationToken);
            if (settings.Json)
            {
                Output.Json(new RevealedValue(value));
            }
            else
            {
                Console.WriteLine(value);
            }

            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var token = new Argument<string>("token");
        var command = new Command("delete", "Delete a token.") { token };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            await settings.CreateClient(settings.TenantKey).DeleteTokenAsync(parse.GetValue(token)!, cancellationToken);
            if (!settings.Json)
            {
                Console.WriteLine("deleted");
            }

            return 0;
        });
        return command;
    }

    private static Command Search()
    {
        var value = ValueArgument();
        var command = new Command("search", "List this tenant's tokens for a value.") { value };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var result = await settings.CreateClient(settings.TenantKey).SearchAsync(ReadValue(parse.GetValue(value)!), cancellationToken);
            if (settings.Json)
            {
                Output.Json(result);
            }
            else
            {
                foreach (var t in result.Tokens)
                {
                    Console.WriteLine($"{t.Token}\t{t.Format}\t{t.Classifier}\t{t.Mask}");
                }
            }

            return 0;
        });
        return command;
    }

    /// <summary>The --sealed and --policy options (shared with functions invoke).</summary>
    public static (Option<bool> Sealed, Option<string?> Policy) SealedOptions(string what) => (SealedOption(what), PolicyOption());

    private static string ReadValue(string value)
    {
        if (value != "-")
        {
            return value;
        }

        var text = Console.In.ReadToEnd().TrimEnd('\r', '\n');
        return text.Length > 0 ? text : throw new CliException("No value on standard input.", 2);
    }
}
