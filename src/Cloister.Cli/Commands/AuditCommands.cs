using System.CommandLine;
using Cloister.Storage;

namespace Cloister.Cli.Commands;

/// <summary>cloister audit verify: checks the audit chain against the key and checkpoint kept outside the database.</summary>
internal static class AuditCommands
{
    public static Command Build()
    {
        var verify = new Command("verify", "Verify the audit log's HMAC chain; exits 1 and names the first bad entry if it was edited, deleted or truncated.");
        verify.SetHandler((parse, _) =>
        {
            var dataDir = CliSettings.ResolveDataDir(parse);
            if (!Directory.Exists(dataDir))
            {
                throw new CliException($"no data directory at {Path.GetFullPath(dataDir)} (pass --data-dir).", 2);
            }

            var result = AuditVerifier.Verify(dataDir);
            if (parse.GetValue(GlobalOptions.Json))
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { ok = result.Ok, entries = result.EntryCount, firstBadEntry = result.FirstBadSeq, reason = result.Reason }));
            }
            else if (result.Ok)
            {
                Console.WriteLine($"audit log OK: {result.EntryCount} entries, chain and checkpoint verified");
            }
            else
            {
                Console.Error.WriteLine($"cloister: audit log FAILED: {result.Reason}");
            }

            return Task.FromResult(result.Ok ? 0 : 1);
        });
        return new Command("audit", "Audit log tools.") { verify };
    }
}
