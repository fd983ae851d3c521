using System.CommandLine;
using Cloister.Cli.Hosting;
using Cloister.KeyBroker;
using Cloister.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

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
        var urls = new Option<string?>("--urls") { Description = "Address to listen on (default http://127.0.0.1:0: a free loopback port, printed at start). Plain HTTP only on loopback unless --insecure-http." };
        var insecure = new Option<bool>("--insecure-http") { Description = "Allow plain HTTP on a non-loopback address (warns at every start): keys travel sealed, but wrapped keys and sessions cross the network in clear." };
        var command = new Command("keybroker", "Run the key broker: releases tenant keys, sealed, to attested enclave workers.") { policy, urls, insecure };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var dataDir = Path.GetFullPath(CliSettings.ResolveDataDir(parse));
            var policyPath = Path.GetFullPath(parse.GetValue(policy) ?? Path.Combine(dataDir, DefaultPolicyFileName));
            return await RunAsync(dataDir, policyPath, parse.GetValue(urls) ?? "http://127.0.0.1:0", parse.GetValue(insecure), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(string dataDir, string policyPath, string url, bool insecureHttp, CancellationToken cancellationToken)
    {
        // Before anything else, so that a refused address never gets as far as reading the master key.
        if (ListenPlan.Check([url], ListenRules.PlainHttpOnly(insecureHttp), out _) is { } refused)
        {
            return CliRunner.Fail($"keybroker: {refused}", 2);
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
            WebApplication app;
            try
            {
                app = await FrameHost.StartAsync("keybroker", url, insecureHttp, FramesPath, broker, MaxFrameBytes, null, cancellationToken);
            }
            catch (CliException e)
            {
                return CliRunner.Fail($"keybroker: {e.Message}", e.ExitCode);
            }

            await using (app)
            {
                Console.WriteLine($"cloister keybroker: policy {policyPath}, master key {masterKey.KeyPath}, audit {broker.AuditPath}");
                if (policy.Policy.AllowsSimulated)
                {
                    Console.WriteLine($"cloister keybroker: WARNING: the policy accepts SIMULATED evidence: keys are released to any process holding the simulated attester key, not only to a TEE ({policyPath})");
                }

                foreach (var address in FrameHost.Addresses(app))
                {
                    Console.WriteLine($"cloister keybroker: listening on {address}");
                }

                await app.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
