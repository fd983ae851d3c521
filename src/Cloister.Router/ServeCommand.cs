using System.CommandLine;
using Cloister.Hosting.Children;
using Cloister.Hosting.CommandLine;
using Cloister.Protocol;
using Cloister.Protocol.Rings;
using Cloister.Router.Supervision;
using Cloister.Server;
using Cloister.Server.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cloister.Router;

/// <summary>
/// <c>cloister serve</c>: the router. It starts the key broker and the enclave worker as child processes (Supervision/)
/// and reaches the worker only through frames. This assembly references no Cloister.Enclave, Cloister.KeyBroker or
/// Cloister.Sandbox (HostArchitectureTests), so no key-holding code can run in the router.
/// </summary>
public static class ServeCommand
{
    public static Command Build()
    {
        var urls = new Option<string[]>("--urls") { Description = "Addresses to listen on (default http://127.0.0.1:8080). Plain HTTP only on loopback unless --insecure-http.", AllowMultipleArgumentsPerToken = true };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM certificate file for HTTPS." };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key file for HTTPS." };
        var selfSigned = new Option<bool>("--tls-self-signed") { Description = "Generate (once) and use a self-signed certificate in the data directory." };
        var insecure = new Option<bool>("--insecure-http") { Description = "Allow plain HTTP on a non-loopback address (logs a warning)." };
        var fullSync = new Option<bool>("--full-sync") { Description = "fsync every commit (survives power loss; slower). Default: survives a process crash." };
        var searchRate = new Option<int?>("--search-rate") { Description = "Searches per minute one API key may make (default 60); beyond it 429 with Retry-After." };
        var retention = new Option<string?>("--invocation-retention") { Description = "How long invocation results are kept for 'GET /v1/invocations/{id}', e.g. 30m, 24h (default), 7d." };
        var workerUrl = new Option<string?>("--worker-url") { Description = "Use a remote enclave worker ('cloister worker --listen URL') at this frames URL instead of starting one." };
        var workerToken = new Option<string?>("--worker-token-file") { Description = "With --worker-url: the file holding the token the worker requires (the file 'cloister worker --listen --token-file' wrote)." };
        var workerLink = new Option<string?>("--worker-transport") { Description = "How serve talks to the worker it starts: ring (default) or http (loopback).", Hidden = true };
        workerLink.AcceptOnlyFromAmong("ring", "http");
        var healthInterval = new Option<string?>("--worker-health-interval") { Description = "Time between health pings of the worker, e.g. 5s (default).", Hidden = true };
        var healthTimeout = new Option<string?>("--worker-health-timeout") { Description = "How long one health ping may take, e.g. 5s (default).", Hidden = true };
        var healthFailures = new Option<int>("--worker-health-failures") { Description = "Unanswered pings in a row after which the worker is killed as hung (default 3).", Hidden = true, DefaultValueFactory = _ => WorkerHealthOptions.Default.Failures };
        var maxInvocations = new Option<int?>("--max-invocations") { Description = $"Invocations running at once, all tenants together (default {FrameLanes.DefaultInvocationSlots})." };
        var maxTenantInvocations = new Option<int?>("--max-invocations-per-tenant") { Description = "Invocations one tenant may have running at once (default 16)." };
        var maxTenantQueued = new Option<int?>("--max-queued-invocations-per-tenant") { Description = "Invocations one tenant may have waiting beyond those; more get 429 (default 64)." };
        var maxTenantRunningRequests = new Option<int?>("--max-requests-per-tenant") { Description = "Token requests one tenant may have in the enclave worker at once, of its 64 (default 16)." };
        var maxTenantRequests = new Option<int?>("--max-queued-requests-per-tenant") { Description = "Token requests one tenant may have waiting for the enclave worker; more get 429 (default 256)." };
        var maxFrame = new Option<int?>("--max-frame-bytes") { Description = "Largest message between the router and the worker (default and most 256 MiB).", Hidden = true };
        var functions = new FunctionCommandLine();
        var brokerUrl = new Option<string?>("--broker-url") { Description = "Use a key broker running elsewhere ('cloister keybroker' on the host that holds the master key) at this frames URL instead of starting one; its policy must trust this worker." };
        var command = new Command("serve", "Run the Cloister server: the router, with the key broker and the enclave worker as child processes.") { urls, tlsCert, tlsKey, selfSigned, insecure, fullSync, searchRate, retention, workerUrl, workerToken, brokerUrl, workerLink, healthInterval, healthTimeout, healthFailures, maxInvocations, maxTenantInvocations, maxTenantQueued, maxTenantRunningRequests, maxTenantRequests, maxFrame };
        functions.AddTo(command);
        command.SetHostAction(async (parse, cancellationToken) =>
        {
            var dataDir = Path.GetFullPath(HostCommand.ResolveDataDir(parse));
            var requestedUrls = (parse.GetValue(urls) ?? []).SelectMany(u => u.Split([';', ','], StringSplitOptions.RemoveEmptyEntries)).ToList();
            var options = new ServerOptions
            {
                DataDirectory = dataDir,
                Urls = requestedUrls.Count > 0 ? requestedUrls : new ServerOptions().Urls,
                TlsCertPath = parse.GetValue(tlsCert),
                TlsKeyPath = parse.GetValue(tlsKey),
                TlsSelfSigned = parse.GetValue(selfSigned),
                InsecureHttp = parse.GetValue(insecure),
                FullSync = parse.GetValue(fullSync),
                InvocationRetention = parse.GetValue(retention) is { } text ? Durations.Parse(text, "--invocation-retention") : new ServerOptions().InvocationRetention,
                SearchRequestsPerMinute = parse.GetValue(searchRate) ?? new ServerOptions().SearchRequestsPerMinute,
            };
            options = options with
            {
                MaxRunningInvocations = parse.GetValue(maxInvocations) ?? options.MaxRunningInvocations,
                MaxRunningInvocationsPerTenant = parse.GetValue(maxTenantInvocations) ?? options.MaxRunningInvocationsPerTenant,
                MaxQueuedInvocationsPerTenant = parse.GetValue(maxTenantQueued) ?? options.MaxQueuedInvocationsPerTenant,
                MaxRunningRequestsPerTenant = parse.GetValue(maxTenantRunningRequests) ?? options.MaxRunningRequestsPerTenant,
                MaxQueuedRequestsPerTenant = parse.GetValue(maxTenantRequests) ?? options.MaxQueuedRequestsPerTenant,
                MaxFrameBytes = parse.GetValue(maxFrame) ?? options.MaxFrameBytes,
            };
            var partition = new PartitionSettings(
                parse.GetValue(workerUrl) is { } remote ? FramesUri(remote, "--worker-url", "http://10.0.0.5:8091/v1/enclave/frames") : null,
                parse.GetValue(brokerUrl) is { } broker ? FramesUri(broker, "--broker-url", "http://10.0.0.6:8092/v1/broker/frames") : null,
                parse.GetValue(workerLink) == "http" ? WorkerLink.LoopbackHttp : WorkerLink.Ring,
                functions.ToWorkerArguments(parse),
                functions.Read(parse).Unsandboxed,
                new WorkerHealthOptions(
                    parse.GetValue(healthInterval) is { } interval ? Durations.Parse(interval, "--worker-health-interval") : WorkerHealthOptions.Default.Interval,
                    parse.GetValue(healthTimeout) is { } timeout ? Durations.Parse(timeout, "--worker-health-timeout") : WorkerHealthOptions.Default.Timeout,
                    parse.GetValue(healthFailures) is var failures and >= 1 ? failures : throw new CliException("--worker-health-failures must be 1 or more.", 2)))
            {
                RemoteWorkerToken = RemoteWorkerToken(parse.GetValue(workerUrl), parse.GetValue(workerToken)),

                // The worker's lanes are the router's: it serves as many invocations as the router admits.
                Rings = new RingOptions { MaxInvocations = options.MaxRunningInvocations, MaxMessageBytes = options.MaxFrameBytes },
            };
            return await RunAsync(options, partition, cancellationToken);
        });
        return command;
    }

    /// <summary>The remote worker's token: required with --worker-url, meaningless without.</summary>
    private static string? RemoteWorkerToken(string? workerUrl, string? tokenFile)
        => (workerUrl, tokenFile) switch
        {
            (null, null) => null,
            (null, _) => throw new CliException("--worker-token-file goes with --worker-url.", 2),
            (_, null) => throw new CliException("--worker-url needs --worker-token-file FILE: the token the worker requires (the file 'cloister worker --listen --token-file FILE' wrote).", 2),
            _ => WorkerLinkToken.Load(Path.GetFullPath(tokenFile), "--worker-token-file"),
        };

    private static Uri FramesUri(string text, string option, string example)
        => Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new CliException($"{option} must be an http(s) frames URL, e.g. {example}.", 2);

    private static async Task<int> RunAsync(ServerOptions options, PartitionSettings partition, CancellationToken cancellationToken)
    {
        if (CloisterServer.CheckOptions(options) is { } invalid)
        {
            return HostCommand.Fail(invalid, 2);
        }

        try
        {
            Console.WriteLine($"cloister: data directory {options.DataDirectory} (SQLite, WAL, synchronous={(options.FullSync ? "FULL" : "NORMAL")})");
            await using var processes = await ServeProcesses.StartAsync(options.DataDirectory, partition, cancellationToken);
            await using var host = await CloisterServer.BuildAsync(options, processes.Transport, logging => logging.AddSimpleConsole(c =>
            {
                c.SingleLine = true;
                c.TimestampFormat = "HH:mm:ss ";
            }), cancellationToken);

            if (host.CredentialsPath is not null)
            {
                Console.WriteLine($"cloister: first start: admin key, default tenant and its key written to {host.CredentialsPath}");
            }

            await host.StartAsync(cancellationToken);
            foreach (var address in host.Addresses)
            {
                Console.WriteLine($"cloister: listening on {address}");
            }

            if (host.CertificateSha256 is { } thumbprint)
            {
                Console.WriteLine($"cloister: TLS certificate SHA-256 {thumbprint}");
            }

            await host.App.WaitForShutdownAsync(cancellationToken);

            // Stop order: HTTP first (no new requests), then the worker, then the broker (ServeProcesses' dispose).
            await host.App.StopAsync(CancellationToken.None);
            return 0;
        }
        catch (ServerConfigurationException e)
        {
            return HostCommand.Fail(e.Message, 2);
        }
        catch (SupervisionException e)
        {
            return HostCommand.Fail(e.Message);
        }
        catch (IOException e) when (e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            return HostCommand.Fail($"cannot listen: {e.Message}");
        }
    }
}
