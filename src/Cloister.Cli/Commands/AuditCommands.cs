using System.CommandLine;
using Cloister.Storage;

namespace Cloister.Cli.Commands;

/// <summary>
/// cloister audit verify: checks the audit chain against the key and checkpoint kept outside the database, reading the
/// data directory's files. It asks no server, so --url and --key (accepted by every other command) are refused.
/// </summary>
internal static class AuditCommands
{
    public static Command Build()
    {
        var verify = new Command("verify", "Verify the audit log's HMAC chain from the data directory's files (vault.db, audit.key, audit.head) on the server's host; exits 1 and names the first bad entry if it was edited, deleted or truncated. No server is asked: --url and --key are refused.");
        verify.SetHandler((parse, _) =>
        {
            // The key and checkpoint the chain is checked against live outside the database, on the server's host;
            // a verdict from the server itself would be the router vouching for its own store.
            foreach (var option in new[] { GlobalOptions.Url, GlobalOptions.Key })
            {
                if (parse.GetResult(option) is not null)
                {
                    throw new CliException($"audit verify does not take {option.Name}: it reads the data directory's files (vault.db, audit.key, audit.head) and asks no server; run it where the data directory is (--data-dir DIR).", 2);
                }
            }

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
