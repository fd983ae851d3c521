using System.CommandLine;
using Cloister.Hosting.Children;
using Cloister.Hosting.CommandLine;
using Cloister.Hosting.Listeners;
using Cloister.Protocol.Http;

namespace Cloister.Worker;

/// <summary>
/// <c>cloister worker</c>: the enclave worker <c>serve</c> starts, or a remote worker an operator runs
/// with <c>--listen</c>. It holds the tenant keys and the sandboxes; the router reaches it by frames.
/// </summary>
public static class WorkerCommand
{
    public static Command Build()
    {
        var ring = new Option<string?>("--ring") { Description = "Serve the router over the shared-memory ring file at PATH (created by 'cloister serve')." };
        var listen = new Option<string?>("--listen") { Description = $"Serve frames over HTTP at POST {FramePaths.Worker} on URL (a remote worker; plain HTTP only on loopback)." };
        var broker = new Option<string>("--broker") { Description = "The key broker's frames endpoint, e.g. http://127.0.0.1:8090/v1/broker/frames.", Required = true };
        var insecure = new Option<bool>("--insecure-http") { Description = "Allow --listen with plain HTTP on a non-loopback address (frames carry values)." };
        var tokenFile = new Option<string?>("--token-file") { Description = $"With --listen: the token the router must present (created when missing; give the router the same file with 'serve --worker-token-file'). ${WorkerLinkToken.EnvironmentVariable} overrides it." };
        var functions = new FunctionCommandLine();
        var command = new Command("worker", "Run an enclave worker: the one 'cloister serve' starts (--ring), or a remote one on another host (--listen URL --broker URL --token-file FILE).") { ring, listen, broker, insecure, tokenFile };
        functions.AddTo(command);
        command.SetHostAction((parse, cancellationToken) =>
        {
            var ringPath = parse.GetValue(ring);
            var listenUrl = parse.GetValue(listen);
            if ((ringPath is null) == (listenUrl is null))
            {
                throw new CliException("cloister worker needs exactly one of --ring PATH and --listen URL.", 2);
            }

            if (!Uri.TryCreate(parse.GetValue(broker), UriKind.Absolute, out var brokerUri) || brokerUri.Scheme is not ("http" or "https"))
            {
                throw new CliException("--broker must be an http(s) URL.", 2);
            }

            var settings = new WorkerSettings(
                Path.GetFullPath(HostCommand.ResolveDataDir(parse)),
                ringPath,
                listenUrl is null ? null : ListenAddress(listenUrl, parse.GetValue(insecure)),
                parse.GetValue(insecure),
                brokerUri,
                listenUrl is null ? null : ListenToken(parse.GetValue(tokenFile)));
            return WorkerProcess.RunAsync(settings, FunctionSettings.From(functions.Read(parse)), cancellationToken);
        });
        return command;
    }

    /// <summary>The token a listening worker requires: from the environment (a supervised worker), else the token file.</summary>
    private static string ListenToken(string? tokenFile)
    {
        if (Environment.GetEnvironmentVariable(WorkerLinkToken.EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            return WorkerLinkToken.Validate(fromEnvironment, "$" + WorkerLinkToken.EnvironmentVariable);
        }

        if (tokenFile is null)
        {
            throw new CliException("--listen needs --token-file FILE: the token the router must present (the file is created with a new token when missing; give the router the same file with 'serve --worker-token-file').", 2);
        }

        var token = WorkerLinkToken.LoadOrCreate(Path.GetFullPath(tokenFile), out var created);
        if (created)
        {
            Console.WriteLine($"cloister worker: wrote a new router token to {Path.GetFullPath(tokenFile)} (0600); start the router with --worker-token-file and a copy of it");
        }

        return token;
    }

    /// <summary>The address to listen on, checked by the router's listen plan before the worker measures and starts anything.</summary>
    private static string ListenAddress(string text, bool insecure)
    {
        if (ListenPlan.Check([text], ListenRules.PlainHttpOnly(insecure), out _) is { } refused)
        {
            throw new CliException($"--listen: {refused}", 2);
        }

        // Kestrel binds an authority only: a frames URL's path (it is always FramePaths.Worker) is dropped.
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) : text;
    }
}

/// <summary>Where a worker serves and where its key broker is.</summary>
/// <param name="DataDirectory">The data directory (the simulated attester's key; never the master key).</param>
/// <param name="RingPath">The shared-memory ring file, or null.</param>
/// <param name="Listen">The HTTP address to serve frames on (checked by the listen plan), or null.</param>
/// <param name="InsecureHttp">Whether <paramref name="Listen"/> may be plain HTTP beyond loopback (<c>--insecure-http</c>).</param>
/// <param name="Broker">The key broker's frames endpoint.</param>
/// <param name="ListenToken">With <paramref name="Listen"/>: the bearer token every frame must carry.</param>
internal sealed record WorkerSettings(string DataDirectory, string? RingPath, string? Listen, bool InsecureHttp, Uri Broker, string? ListenToken);
