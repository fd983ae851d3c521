using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Cloister.IntegrationTests.Processes;

namespace Cloister.IntegrationTests.Support;

/// <summary>What a finished <c>cloister</c> process printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs the real <c>cloister</c> executable (<c>dotnet cloister.dll …</c>).</summary>
public static partial class CloisterProcess
{
    private static readonly string[] InheritedSettings = ["CLOISTER_URL", "CLOISTER_API_KEY", "CLOISTER_ADMIN_KEY", "CLOISTER_DATA_DIR"];

    /// <summary>cloister.dll: next to the test assembly when the build copied it with its runtime config, else the CLI project's own output.</summary>
    public static string DllPath { get; } = LocateDll();

    public static string DotnetPath { get; } = LocateDotnet();

    /// <summary>Runs a command to completion (fails the test after <paramref name="timeout"/>, default one minute).</summary>
    public static async Task<CliResult> RunAsync(IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = new Process { StartInfo = StartInfo(args) };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            process.StartInfo.Environment[name] = value;
        }

        process.StartInfo.RedirectStandardInput = true;
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"cloister {string.Join(' ', args)} did not finish in time.\n{await stdout}\n{await stderr}");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync((IEnumerable<string>)args);

    internal static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(DotnetPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            // Never the repository: a command without --data-dir would otherwise create ./.cloister there.
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add(DllPath);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var name in InheritedSettings)
        {
            info.Environment.Remove(name);
        }

        return info;
    }

    private static string LocateDll()
    {
        var here = AppContext.BaseDirectory;
        if (File.Exists(Path.Combine(here, "cloister.dll")) && File.Exists(Path.Combine(here, "cloister.runtimeconfig.json")))
        {
            return Path.Combine(here, "cloister.dll");
        }

        // bin/<Configuration>/net10.0/ → the same configuration of src/Cloister.Cli.
        var framework = new DirectoryInfo(Path.TrimEndingDirectorySeparator(here));
        var configuration = framework.Parent?.Name ?? "Debug";
        for (var dir = framework; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cloister.slnx")))
            {
                var candidate = Path.Combine(dir.FullName, "src", "Cloister.Cli", "bin", configuration, framework.Name, "cloister.dll");
                if (File.Exists(candidate))
                {
                    return candidate;
                }

                break;
            }
        }

        throw new FileNotFoundException($"cloister.dll is neither next to the tests ({here}) nor in src/Cloister.Cli/bin/{configuration}; build src/Cloister.Cli first.");
    }

    private static string LocateDotnet()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } processPath && Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return processPath;
        }

        // <root>/shared/Microsoft.NETCore.App/<version>/ holds the runtime; <root>/dotnet is the host.
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var candidate = Path.GetFullPath(Path.Combine(runtime, "..", "..", "..", "dotnet"));
        return File.Exists(candidate) ? candidate : "dotnet";
    }

    /// <summary>"cloister[ NAME]: listening on URL": group 1 the process's name ("" for serve), group 2 the URL.</summary>
    [GeneratedRegex(@"^cloister ?([a-z]*): listening on (\S+)$")]
    internal static partial Regex ListeningLine();
}

/// <summary>A running <c>cloister serve</c> (or <c>keybroker</c>, or listening <c>worker</c>) process.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _name;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<string> _url = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process, string name)
    {
        _process = process;
        _name = name;
    }

    public string Url { get; private set; } = "";

    public int Id => _process.Id;

    /// <summary>Everything the process printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts <c>cloister serve --data-dir DIR --urls http://127.0.0.1:0</c> and waits for its "listening on" line.</summary>
    public static Task<ServerProcess> StartAsync(string dataDirectory, params string[] extraArgs)
        => StartCommandAsync(["serve", "--data-dir", dataDirectory, "--urls", "http://127.0.0.1:0", .. extraArgs]);

    /// <summary>
    /// Starts <c>cloister ARGUMENTS</c> and waits for the command's own "listening on" line: <c>cloister: listening on URL</c>
    /// for serve (whose output also relays its children's), <c>cloister keybroker: …</c> or <c>cloister worker: …</c> otherwise.
    /// </summary>
    public static async Task<ServerProcess> StartCommandAsync(IReadOnlyList<string> arguments)
    {
        var process = new Process { StartInfo = CloisterProcess.StartInfo(arguments), EnableRaisingEvents = true };
        var server = new ServerProcess(process, arguments[0] == "serve" ? "" : arguments[0]);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.Exited += (_, _) => server._url.TrySetException(new InvalidOperationException($"cloister {arguments[0]} exited before listening."));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            server.Url = await server._url.Task.WaitAsync(TimeSpan.FromMinutes(1));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            await server.DisposeAsync();
            Assert.Fail($"cloister {arguments[0]} did not report a URL ({e.Message}). Output:\n{server.Output}");
        }

        return server;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        var match = CloisterProcess.ListeningLine().Match(line.Trim());
        if (match.Success && match.Groups[1].Value == _name)
        {
            _url.TrySetResult(match.Groups[2].Value);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as an operator's stop: waits for serve to exit (SIGKILL after <paramref name="timeout"/>) and returns its exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            try
            {
                await ServeChildren.SignalAsync(_process.Id, "TERM");
            }
            catch (Xunit.Sdk.XunitException) when (_process.HasExited)
            {
                // It exited (a test's kill -9 was reaped) between the check and the signal: nothing left to stop.
            }
        }

        using var patience = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }

        return _process.ExitCode;
    }

    /// <summary>Stops serve as an operator would (SIGTERM), so that its worker, sandboxes and ring go with it; SIGKILL if it hangs.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(TimeSpan.FromSeconds(30));
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
    }
}
