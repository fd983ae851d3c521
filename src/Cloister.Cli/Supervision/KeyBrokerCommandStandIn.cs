using System.CommandLine;
using Cloister.Cli.Hosting;
using Cloister.KeyBroker;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Cloister.Cli.Supervision;

// TEMPORARY STAND-IN (procs branch only): the broker helper's `cloister keybroker` (KeyBrokerCommand.cs)
// replaces this when it lands on main. Same options and the same listening line.
internal static class KeyBrokerCommandStandIn
{
    public static Command Build()
    {
        var policy = new Option<string?>("--policy") { Description = "Attestation policy file." };
        var urls = new Option<string?>("--urls") { Description = "Address to listen on." };
        var command = new Command("keybroker", "Run the key broker (stand-in).") { policy, urls };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var dataDir = Path.GetFullPath(CliSettings.ResolveDataDir(parse));
            using var masterKey = new FileMasterKeyProvider(new FileMasterKeyProviderOptions { DataDirectory = dataDir });
            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls(parse.GetValue(urls) ?? "http://127.0.0.1:8090");
            await using var app = builder.Build();
            app.MapFrames("/v1/broker/frames", new KeyBrokerHost(masterKey), 16 * 1024 * 1024);
            await app.StartAsync(cancellationToken);
            Console.WriteLine($"cloister keybroker: listening on {app.Urls.First()}");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }

            await app.StopAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }
}
