using System.CommandLine;
using Cloister.Client;

namespace Cloister.Cli.Commands;

/// <summary>cloister tenants create, apikeys create|revoke, datakeys rotate (admin key).</summary>
internal static class AdminCommands
{
    private static readonly string[] TenantScopes = ["tokens:write", "tokens:reveal", "tokens:search", "functions:deploy", "functions:invoke", "attestation"];

    public static IEnumerable<Command> Build() => [Tenants(), ApiKeys(), DataKeys()];

    private static Option<string?> TenantOption() => new("--tenant") { Description = "Tenant id (default: the tenant in credentials.json)." };

    private static string TenantOf(ParseResult parse, Option<string?> option, CliSettings settings)
        => parse.GetValue(option) ?? settings.DefaultTenantId ?? throw new CliException("Pass --tenant (no default tenant in credentials.json).", 2);

    private static Command Tenants()
    {
        var name = new Argument<string>("name") { Description = "Tenant name." };
        var create = new Command("create", "Create a tenant; prints its id.") { name };
        create.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var tenant = await settings.CreateClient(settings.AdminKey).CreateTenantAsync(parse.GetValue(name)!, cancellationToken);
            if (settings.Json)
            {
                Output.Json(tenant, ClientJsonContext.Default.TenantCreated);
            }
            else
            {
                Console.WriteLine(tenant.Id);
            }

            return 0;
        });
        return new Command("tenants", "Manage tenants (admin key).") { create };
    }

    private static Command ApiKeys()
    {
        var tenant = TenantOption();
        var scopes = new Option<string[]>("--scopes") { Description = $"Scopes, comma- or space-separated (default: all of {string.Join(", ", TenantScopes)}).", AllowMultipleArgumentsPerToken = true };
        var admin = new Option<bool>("--admin") { Description = "Create an admin key instead (to replace the current one)." };
        var create = new Command("create", "Create a tenant API key (or with --admin an admin key); prints the key (shown only once).") { tenant, scopes, admin };
        create.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            if (parse.GetValue(admin))
            {
                PrintKey(await settings.CreateClient(settings.AdminKey).CreateAdminKeyAsync(cancellationToken), settings);
                return 0;
            }

            var requested = (parse.GetValue(scopes) ?? []).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            PrintKey(await settings.CreateClient(settings.AdminKey).CreateApiKeyAsync(TenantOf(parse, tenant, settings), requested.Count == 0 ? TenantScopes : requested, cancellationToken), settings);
            return 0;
        });

        var revokeTenant = TenantOption();
        var keyId = new Argument<string>("key-id") { Description = "The key's id (not the key itself)." };
        var revokeAdmin = new Option<bool>("--admin") { Description = "Revoke an admin key (not the one in use)." };
        var revoke = new Command("revoke", "Revoke a tenant API key (or with --admin an admin key).") { revokeTenant, keyId, revokeAdmin };
        revoke.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var client = settings.CreateClient(settings.AdminKey);
            if (parse.GetValue(revokeAdmin))
            {
                await client.RevokeAdminKeyAsync(parse.GetValue(keyId)!, cancellationToken);
            }
            else
            {
                await client.RevokeApiKeyAsync(TenantOf(parse, revokeTenant, settings), parse.GetValue(keyId)!, cancellationToken);
            }

            if (!settings.Json)
            {
                Console.WriteLine("revoked");
            }

            return 0;
        });
        return new Command("apikeys", "Manage tenant API keys (admin key).") { create, revoke };
    }

    private static void PrintKey(ApiKeyCreated key, CliSettings settings)
    {
        if (settings.Json)
        {
            Output.Json(key, ClientJsonContext.Default.ApiKeyCreated);
            return;
        }

        Output.Fields(("id", key.Id), ("key", key.Key), ("scopes", string.Join(' ', key.Scopes)));
        Console.Error.WriteLine("Store the key now: it is not shown again.");
    }

    private static Command DataKeys()
    {
        var tenant = TenantOption();
        var rotate = new Command("rotate", "Add a data-key version; old tokens keep revealing and are re-encrypted in the background.") { tenant };
        rotate.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var rotated = await settings.CreateClient(settings.AdminKey).RotateDataKeyAsync(TenantOf(parse, tenant, settings), cancellationToken);
            if (settings.Json)
            {
                Output.Json(rotated, ClientJsonContext.Default.DataKeyRotated);
            }
            else
            {
                Console.WriteLine($"tenant {rotated.TenantId}: data key version {rotated.Version}");
            }

            return 0;
        });
        return new Command("datakeys", "Manage tenant data keys (admin key).") { rotate };
    }
}
