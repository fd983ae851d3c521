using System.CommandLine;
using System.Net;
using Cloister.Cli.Hosting;
using Cloister.KeyBroker;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cloister.Cli.Commands;

/// <summary>
/// cloister keybroker: the key broker alone (started by serve, or on another host so the master key lives there).
/// Serves broker frames at POST <see cref="FramesPath"/> over HTTP.
/// </summary>
internal static class KeyBrokerCommand
{
    /// <summary>Where the broker's frames are posted.</summary>
    public const string FramesPath = "/v1/broker/frames";

    /// <summary>The default policy file's name in the data directory.</summary>
    public const string DefaultPolicyFileName = "attestation-policy.json";

    /// <summary>Largest frame accepted: evidence with its certificate chain and claims is tens of kilobytes.</summary>
    private const long MaxFrameBytes = 1024 * 1024;

    public static Command Build()
    {
        var policy = new Option<string?>("--policy") { Description = $"Attestation policy file (default <data-dir>/{DefaultPolicyFileName}); reloaded when it changes." };
        var urls = new Option<string?>("--urls") { Description = "Address to listen on (default http://127.0.0.1:0: a free loopback port, printed at start)." };
        var command = new Command("keybroker", "Run the key broker: releases tenant keys, sealed, to attested enclave workers.") { policy, urls };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var dataDir = Path.GetFullPath(CliSettings.ResolveDataDir(parse));
            var policyPath = Path.GetFullPath(parse.GetValue(policy) ?? Path.Combine(dataDir, DefaultPolicyFileName));
            return await RunAsync(dataDir, policyPath, parse.GetValue(urls) ?? "http://127.0.0.1:0", cancellationToken);
        });
        return command;
    }

    /// <summary>Build (not start) the broker's web host for <paramref name="broker"/> on <paramref name="url"/>.</summary>
    internal static WebApplication BuildHost(KeyBrokerHost broker, string url)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });

        // As for the router: only the address given here is bound, whatever the environment says.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxFrameBytes;
        });
        var app = builder.Build();
        app.MapFrames(FramesPath, broker, MaxFrameBytes);
        return app;
    }

    /// <summary>The addresses a started host listens on.</summary>
    internal static IReadOnlyList<string> Addresses(WebApplication app)
        => [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];

    private static async Task<int> RunAsync(string dataDir, string policyPath, string url, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            return CliRunner.Fail($"keybroker: --urls must be one http:// address (e.g. http://127.0.0.1:0), not '{url}'", 2);
        }

        if (!File.Exists(policyPath))
        {
            return CliRunner.Fail($"keybroker: no attestation policy at {policyPath} (pass --policy FILE; 'cloister serve' writes the embedded default there)", 2);
        }

        ReleasePolicySource policy;
        try
        {
            policy = ReleasePolicySource.FromFile(policyPath);
        }
        catch (KeyBrokerException e)
        {
            return CliRunner.Fail($"keybroker: invalid attestation policy: {OneLine(e.Message)}", 2);
        }

        FileMasterKeyProvider masterKey;
        try
        {
            masterKey = new FileMasterKeyProvider(new FileMasterKeyProviderOptions { DataDirectory = dataDir });
        }
        catch (KeyBrokerException e)
        {
            return CliRunner.Fail($"keybroker: {OneLine(e.Message)}", 2);
        }

        using (masterKey)
        {
            var broker = new KeyBrokerHost(masterKey, policy, new KeyBrokerOptions { DataDirectory = dataDir });
            await using var app = BuildHost(broker, url);
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                return CliRunner.Fail($"keybroker: cannot listen on {url}: {OneLine(e.Message)}");
            }

            Console.WriteLine($"cloister keybroker: policy {policyPath}, master key {masterKey.KeyPath}, audit {broker.AuditPath}");
            if (policy.Policy.AllowsSimulated)
            {
                Console.WriteLine($"cloister keybroker: WARNING: the policy accepts SIMULATED evidence: keys are released to any process holding the simulated attester key, not only to a TEE ({policyPath})");
            }

            if (!IsLoopback(uri.Host))
            {
                Console.WriteLine($"cloister keybroker: WARNING: plain HTTP on a non-loopback address ({url}): keys travel sealed, but wrapped keys and sessions are visible on the network");
            }

            foreach (var address in Addresses(app))
            {
                Console.WriteLine($"cloister keybroker: listening on {address}");
            }

            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        }
    }

    private static bool IsLoopback(string host)
        => host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
