using System.CommandLine;
using Cloister.Hosting;
using Cloister.Hosting.Children;
using Cloister.Hosting.CommandLine;
using Cloister.Hosting.Listeners;
using Cloister.KeyBroker;
using Cloister.Protocol.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Cloister.Broker;

/// <summary>
/// <c>cloister keybroker</c>: the key broker alone (started by serve, or on another host so the master key lives there).
/// Serves broker frames at POST <see cref="FramePaths.Broker"/> over HTTP.
/// </summary>
public static class KeyBrokerCommand
{
    /// <summary>Largest frame accepted: evidence with its certificate chain and claims is tens of kilobytes.</summary>
    private const long MaxFrameBytes = 1024 * 1024;

    public static Command Build()
    {
        var policy = new Option<string?>("--policy") { Description = $"Attestation policy file (default <data-dir>/{DataFiles.AttestationPolicy}); reloaded when it changes." };
        var urls = new Option<string?>("--urls") { Description = "Address to listen on (default http://127.0.0.1:0: a free loopback port, printed at start). Plain HTTP only on loopback unless --insecure-http." };
        var insecure = new Option<bool>("--insecure-http") { Description = "Allow plain HTTP on a non-loopback address (warns at every start): keys travel sealed, but wrapped keys and sessions cross the network in clear." };
        var command = new Command("keybroker", "Run the key broker: releases tenant keys, sealed, to attested enclave workers.") { policy, urls, insecure };
        command.SetHostAction(async (parse, cancellationToken) =>
        {
            var dataDir = Path.GetFullPath(HostCommand.ResolveDataDir(parse));
            var policyPath = Path.GetFullPath(parse.GetValue(policy) ?? Path.Combine(dataDir, DataFiles.AttestationPolicy));
            return await RunAsync(dataDir, policyPath, parse.GetValue(urls) ?? "http://127.0.0.1:0", parse.GetValue(insecure), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(string dataDir, string policyPath, string url, bool insecureHttp, CancellationToken cancellationToken)
    {
        // Before anything else, so that a refused address never gets as far as reading the master key.
        if (ListenPlan.Check([url], ListenRules.PlainHttpOnly(insecureHttp), out _) is { } refused)
        {
            return HostCommand.Fail($"keybroker: {refused}", 2);
        }

        if (!File.Exists(policyPath))
        {
            return HostCommand.Fail($"keybroker: no attestation policy at {policyPath} (pass --policy FILE; 'cloister serve' writes the embedded default there)", 2);
        }

        ReleasePolicySource policy;
        try
        {
            policy = ReleasePolicySource.FromFile(policyPath);
        }
        catch (KeyBrokerException e)
        {
            return HostCommand.Fail($"keybroker: invalid attestation policy: {OneLine(e.Message)}", 2);
        }

        FileMasterKeyProvider masterKey;
        try
        {
            masterKey = new FileMasterKeyProvider(new FileMasterKeyProviderOptions { DataDirectory = dataDir });
        }
        catch (KeyBrokerException e)
        {
            return HostCommand.Fail($"keybroker: {OneLine(e.Message)}", 2);
        }

        using (masterKey)
        {
            var broker = new KeyBrokerHost(masterKey, policy, new KeyBrokerOptions { DataDirectory = dataDir });
            WebApplication app;
            try
            {
                app = await FrameListener.StartAsync("keybroker", url, insecureHttp, FramePaths.Broker, broker, MaxFrameBytes, null, cancellationToken);
            }
            catch (CliException e)
            {
                return HostCommand.Fail($"keybroker: {e.Message}", e.ExitCode);
            }

            await using (app)
            {
                Console.WriteLine($"cloister keybroker: policy {policyPath}, master key {masterKey.KeyPath}, audit {broker.AuditPath}");
                if (policy.Policy.AllowsSimulated)
                {
                    Console.WriteLine($"cloister keybroker: WARNING: the policy accepts SIMULATED evidence: keys are released to any process holding the simulated attester key, not only to a TEE ({policyPath})");
                }

                var addresses = Listener.Addresses(app);
                foreach (var address in addresses)
                {
                    Console.WriteLine($"cloister keybroker: listening on {address}");
                }

                Readiness.Report(new ReadinessReport { Process = "keybroker", Listening = addresses[0] });

                await app.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
