using System.CommandLine;
using Cloister.Sandbox;
using Cloister.Sandbox.Pool;
using Cloister.Server;
using Cloister.Server.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cloister.Cli.Commands;

/// <summary>cloister serve: the router with the enclave and key broker in-process behind their message boundary.</summary>
internal static class ServeCommand
{
    public static Command Build()
    {
        var urls = new Option<string[]>("--urls") { Description = "Addresses to listen on (default http://127.0.0.1:8080). Plain HTTP only on loopback unless --insecure-http.", AllowMultipleArgumentsPerToken = true };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM certificate file for HTTPS." };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key file for HTTPS." };
        var selfSigned = new Option<bool>("--tls-self-signed") { Description = "Generate (once) and use a self-signed certificate in the data directory." };
        var insecure = new Option<bool>("--insecure-http") { Description = "Allow plain HTTP on a non-loopback address (logs a warning)." };
        var fullSync = new Option<bool>("--full-sync") { Description = "fsync every commit (survives power loss; slower). Default: survives a process crash." };
        var retention = new Option<string?>("--invocation-retention") { Description = "How long invocation results are kept for 'GET /v1/invocations/{id}', e.g. 30m, 24h (default), 7d." };
        var noSandbox = new Option<bool>("--unsafe-no-sandbox") { Description = "DEVELOPMENT ONLY: run functions as plain child processes, with no isolation at all (prints a warning at every start)." };
        var warmMin = new Option<int>("--warm-min") { Description = "Sandboxes kept started per function version, even when idle (default 0).", DefaultValueFactory = _ => 0 };
        var warmMax = new Option<int>("--warm-max") { Description = "Most sandboxes per function version; a manifest's limits.concurrency lowers it (default 16).", DefaultValueFactory = _ => 16 };
        var sandbox = new Option<string?>("--sandbox") { Description = "Sandbox backend for functions: runsc or bwrap (default: runsc when usable, else bwrap).", Hidden = true };
        sandbox.AcceptOnlyFromAmong("runsc", "bwrap");
        var warmIdle = new Option<string?>("--warm-idle") { Description = "How long an idle warm sandbox is kept, e.g. 90s, 5m (default)." };
        var command = new Command("serve", "Run the Cloister server.") { urls, tlsCert, tlsKey, selfSigned, insecure, fullSync, retention, noSandbox, sandbox, warmMin, warmMax, warmIdle };
        command.SetHandler(async (parse, cancellationToken) =>
        {
            var dataDir = Path.GetFullPath(CliSettings.ResolveDataDir(parse));
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
                InvocationRetention = parse.GetValue(retention) is { } text ? ParseDuration(text, "--invocation-retention") : new ServerOptions().InvocationRetention,
            };
            var functions = new FunctionSettings
            {
                Unsandboxed = parse.GetValue(noSandbox),
                BackendName = parse.GetValue(sandbox),
                Pool = new SandboxPoolOptions
                {
                    MinPerFunction = parse.GetValue(warmMin),
                    MaxPerFunction = parse.GetValue(warmMax),
                    IdleTimeout = parse.GetValue(warmIdle) is { } idle ? ParseDuration(idle, "--warm-idle") : new SandboxPoolOptions().IdleTimeout,
                },
            };
            try
            {
                functions.Pool.Validate();
            }
            catch (ArgumentException e)
            {
                throw new CliException($"--warm-min/--warm-max/--warm-idle: {e.Message}", 2);
            }

            return await RunAsync(options, functions, cancellationToken);
        });
        return command;
    }

    /// <summary>A duration such as 90s, 30m, 24h or 7d.</summary>
    internal static TimeSpan ParseDuration(string text, string option)
    {
        var unit = text.Length > 1 ? text[^1] : ' ';
        if (!long.TryParse(text.AsSpan(0, Math.Max(0, text.Length - 1)), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var amount)
            || amount is < 1 or > 1_000_000)
        {
            throw new CliException($"{option} must be a number followed by s, m, h or d (e.g. 24h).", 2);
        }

        return unit switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            _ => throw new CliException($"{option} must be a number followed by s, m, h or d (e.g. 24h).", 2),
        };
    }

    private static async Task<int> RunAsync(ServerOptions options, FunctionSettings functions, CancellationToken cancellationToken)
    {
        try
        {
            await using var enclave = InProcessPartition.Open(options.DataDirectory, functions);
            await using var host = await CloisterServer.BuildAsync(options, enclave.Transport, logging => logging.AddSimpleConsole(c =>
            {
                c.SingleLine = true;
                c.TimestampFormat = "HH:mm:ss ";
            }), cancellationToken);

            Console.WriteLine($"cloister: data directory {options.DataDirectory} (SQLite, WAL, synchronous={(options.FullSync ? "FULL" : "NORMAL")})");
            Console.WriteLine($"cloister: master key {enclave.MasterKeyPath}");
            Console.WriteLine("cloister: enclave and key broker run in-process behind the message boundary (no hardware attestation yet)");
            await ReportFunctionsAsync(enclave, functions, cancellationToken);
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
            return 0;
        }
        catch (ServerConfigurationException e)
        {
            return CliRunner.Fail(e.Message, 2);
        }
        catch (IOException e) when (e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            return CliRunner.Fail($"cannot listen: {e.Message}");
        }
    }

    /// <summary>Says which sandbox functions run in and which runtimes exist, or what to install.</summary>
    private static async Task ReportFunctionsAsync(InProcessPartition enclave, FunctionSettings functions, CancellationToken cancellationToken)
    {
        var environment = await SandboxEnvironment.DescribeAsync(cancellationToken);
        var runtimes = string.Join(", ", environment.Runtimes.Select(r => r.Installed ? $"{r.Name} ({r.Version ?? r.Path})" : $"{r.Name} MISSING ({r.Path})"));
        if (functions.Unsandboxed)
        {
            Console.Error.WriteLine($"cloister: {enclave.BackendMessage}");
            Console.WriteLine($"cloister: functions: NO SANDBOX; runtimes {runtimes}");
        }
        else if (enclave.Backend is null)
        {
            Console.WriteLine($"cloister: functions: disabled, {enclave.BackendMessage}; runtimes {runtimes}");
        }
        else
        {
            var version = environment.Backend == enclave.Backend.Name && environment.BackendVersion is { } v ? $" ({v})" : string.Empty;
            Console.WriteLine($"cloister: functions: sandbox {enclave.Backend.Name}{version}; runtimes {runtimes}");
        }

        foreach (var missing in environment.Runtimes.Where(r => !r.Installed))
        {
            Console.WriteLine($"cloister: {missing.Name} functions will fail until {missing.Path} is installed ('sudo apt-get install {(missing.Name == "node" ? "nodejs" : missing.Name)}')");
        }
    }
}
