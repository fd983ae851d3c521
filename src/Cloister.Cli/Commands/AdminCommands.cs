using System.CommandLine;
using Cloister.Api.Contracts;
using Cloister.Client;

namespace Cloister.Cli.Commands;

/// <summary>cloister tenants create|delete, apikeys list|create|rotate|revoke, datakeys rotate|retire (admin key).</summary>
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
                Output.Json(tenant);
            }
            else
            {
                Console.WriteLine(tenant.Id);
            }

            return 0;
        });
        var id = new Argument<string>("id") { Description = "The tenant's id." };
        var yes = new Option<bool>("--yes") { Description = "Confirm: the deletion cannot be undone." };
        var delete = new Command("delete", "Delete a tenant and crypto-shred it: its tokens, functions, invocations and API keys are deleted, its keys zeroed in the enclave worker and never released again by the key broker, so its tokens can never be revealed, not even from a backup. Its audit entries stay. Needs --yes.") { id, yes };
        delete.SetHandler(async (parse, cancellationToken) =>
        {
            var tenantId = parse.GetValue(id)!;
            if (!parse.GetValue(yes))
            {
                throw new CliException($"Deleting tenant {tenantId} destroys its keys and data for good; pass --yes to confirm.", 2);
            }

            var settings = CliSettings.From(parse);
            var deleted = await settings.CreateClient(settings.AdminKey).DeleteTenantAsync(tenantId, cancellationToken);
            if (settings.Json)
            {
                Output.Json(deleted);
                return 0;
            }

            Console.WriteLine($"tenant {deleted.Id} deleted: {deleted.Tokens} tokens, {deleted.Functions} functions, {deleted.Invocations} invocations, {deleted.ApiKeys} API keys, {deleted.WrappedKeys} keys");
            Console.Error.WriteLine(deleted.KeysShredded
                ? "The enclave worker zeroed the tenant's keys and the key broker will never release them again."
                : "cloister: warning: the enclave worker has not confirmed yet that it zeroed the tenant's keys; the server keeps trying and audits 'tenant.keys.shredded' when it has.");
            if (deleted.Id == settings.DefaultTenantId)
            {
                Console.Error.WriteLine($"cloister: warning: {settings.CredentialsPath} names the deleted tenant; its tenant key no longer works.");
            }

            return 0;
        });
        return new Command("tenants", "Manage tenants (admin key).") { create, delete };
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
        var keyId = new Argument<string>("key-id") { Description = "The key's id (not the key itself; 'cloister apikeys list' shows it)." };
        var revokeAdmin = new Option<bool>("--admin") { Description = "Revoke an admin key (not the one in use)." };
        var revoke = new Command("revoke", "Revoke a tenant API key (or with --admin an admin key). Revoking the admin key credentials.json holds, with another admin key (--key), puts that key in the file.") { revokeTenant, keyId, revokeAdmin };
        revoke.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var client = settings.CreateClient(settings.AdminKey);
            var id = parse.GetValue(keyId)!;
            if (parse.GetValue(revokeAdmin))
            {
                await client.RevokeAdminKeyAsync(id, cancellationToken);

                // The server refuses to revoke the key making the request, so the key in use is another, valid admin key:
                // the file keeps working instead of holding a revoked key that every later admin command fails with.
                if (ApiKeyFormat.IdOf(settings.Stored(CliSettings.AdminKeyField)) == id)
                {
                    settings.StoreKey(CliSettings.AdminKeyField, settings.AdminKey);
                    Console.Error.WriteLine($"{settings.CredentialsPath} now holds the admin key that revoked {id}.");
                }
            }
            else
            {
                await client.RevokeApiKeyAsync(TenantOf(parse, revokeTenant, settings), id, cancellationToken);
                if (ApiKeyFormat.IdOf(settings.Stored(CliSettings.TenantKeyField)) == id)
                {
                    Console.Error.WriteLine($"cloister: warning: the tenant key in {settings.CredentialsPath} is now revoked ('cloister apikeys rotate' replaces a key and the file together).");
                }
            }

            if (!settings.Json)
            {
                Console.WriteLine("revoked");
            }

            return 0;
        });
        return new Command("apikeys", "Manage API keys: list, create, rotate, revoke (admin key).") { List(), create, Rotate(), revoke };
    }

    private static Command List()
    {
        var tenant = new Option<string?>("--tenant") { Description = "Only this tenant's keys." };
        var admin = new Option<bool>("--admin") { Description = "Only admin keys." };
        var list = new Command("list", "List API keys, oldest first, one a line: id, tenant (or 'admin'), scopes, created, revoked (or '-'), and 'credentials.json' beside the keys that file holds. Never a secret.") { tenant, admin };
        list.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var only = parse.GetValue(tenant);
            var adminOnly = parse.GetValue(admin);
            var all = await settings.CreateClient(settings.AdminKey).ListApiKeysAsync(cancellationToken);
            var keys = all.Keys.Where(k => (only is null || k.TenantId == only) && (!adminOnly || k.TenantId is null)).ToList();
            if (settings.Json)
            {
                Output.Json(new ApiKeyList(keys));
                return 0;
            }

            string?[] stored = [ApiKeyFormat.IdOf(settings.Stored(CliSettings.AdminKeyField)), ApiKeyFormat.IdOf(settings.Stored(CliSettings.TenantKeyField))];
            foreach (var k in keys)
            {
                var fields = new[] { k.Id, k.TenantId ?? "admin", string.Join(',', k.Scopes), Time(k.CreatedAt), k.RevokedAt is { } revoked ? Time(revoked) : "-" };
                Console.WriteLine(string.Join('\t', stored.Contains(k.Id) ? [.. fields, "credentials.json"] : fields));
            }

            return 0;
        });
        return list;
    }

    /// <summary>
    /// Replaces a key of credentials.json: a new key with the same scopes is created, written to the file (0600, in one
    /// rename), and only then is the old key revoked, so that the file never holds a revoked key.
    /// </summary>
    private static Command Rotate()
    {
        var admin = new Option<bool>("--admin") { Description = "Rotate the admin key (authenticating with the one in credentials.json) instead of the default tenant's key." };
        var rotate = new Command("rotate", "Replace the key credentials.json holds (the default tenant's, or with --admin the admin key): the new key goes into the file, then the old one is revoked. Prints the old and new key ids.") { admin };
        rotate.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var rotateAdmin = parse.GetValue(admin);
            var field = rotateAdmin ? CliSettings.AdminKeyField : CliSettings.TenantKeyField;
            var oldId = ApiKeyFormat.IdOf(settings.Stored(field))
                ?? throw new CliException($"{settings.CredentialsPath} holds no {field}: 'apikeys rotate' replaces the key stored there ('apikeys create' and 'apikeys revoke' manage the others).", 2);
            Func<Task> revokeOld;
            ApiKeyCreated created;
            if (rotateAdmin)
            {
                created = await settings.CreateClient(settings.Stored(field)!).CreateAdminKeyAsync(cancellationToken);
                revokeOld = () => settings.CreateClient(created.Key).RevokeAdminKeyAsync(oldId, cancellationToken);
            }
            else
            {
                var client = settings.CreateClient(settings.AdminKey);
                var tenantId = settings.DefaultTenantId ?? throw new CliException($"{settings.CredentialsPath} names no tenant.", 2);
                var current = (await client.ListApiKeysAsync(cancellationToken)).Keys.FirstOrDefault(k => k.Id == oldId && k.TenantId == tenantId)
                    ?? throw new CliException($"the tenant key in {settings.CredentialsPath} is not a key of tenant {tenantId}.");
                created = await client.CreateApiKeyAsync(tenantId, current.Scopes, cancellationToken);
                revokeOld = () => client.RevokeApiKeyAsync(tenantId, oldId, cancellationToken);
            }

            settings.StoreKey(field, created.Key);
            try
            {
                await revokeOld();
            }
            catch (Exception e) when (e is CloisterApiException or HttpRequestException or TaskCanceledException)
            {
                throw new CliException($"{settings.CredentialsPath} holds the new key {created.Id}, but the old key {oldId} was not revoked ({e.Message}): revoke it with 'cloister apikeys revoke{(rotateAdmin ? " --admin" : "")} {oldId}'.");
            }

            if (settings.Json)
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { id = created.Id, revoked = oldId, credentials = settings.CredentialsPath }));
            }
            else
            {
                Console.WriteLine($"{(rotateAdmin ? "admin" : "tenant")} key {created.Id} is in {settings.CredentialsPath}; {oldId} revoked");
            }

            return 0;
        });
        return rotate;
    }

    private static string Time(DateTimeOffset time) => time.ToString("u", System.Globalization.CultureInfo.InvariantCulture);

    private static void PrintKey(ApiKeyCreated key, CliSettings settings)
    {
        if (settings.Json)
        {
            Output.Json(key);
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
                Output.Json(rotated);
            }
            else
            {
                Console.WriteLine($"tenant {rotated.TenantId}: data key version {rotated.Version}");
            }

            return 0;
        });
        var retireTenant = TenantOption();
        var version = new Argument<int>("version") { Description = "The data-key version to retire (not the current one)." };
        var retire = new Command("retire", "Retire (crypto-shred) a data-key version once re-encryption has moved every token off it and no kept invocation outcome uses it: the enclave worker zeroes it and the key broker never releases it again.") { retireTenant, version };
        retire.SetHandler(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.From(parse);
            var retired = await settings.CreateClient(settings.AdminKey).RetireDataKeyAsync(TenantOf(parse, retireTenant, settings), parse.GetValue(version), cancellationToken);
            if (settings.Json)
            {
                Output.Json(retired);
            }
            else
            {
                Console.WriteLine($"tenant {retired.TenantId}: data key version {retired.Version} retired{(retired.KeysShredded ? "" : " (the worker has not confirmed the shredding yet; the server keeps trying)")}");
            }

            return 0;
        });
        return new Command("datakeys", "Manage tenant data keys (admin key).") { rotate, retire };
    }
}
