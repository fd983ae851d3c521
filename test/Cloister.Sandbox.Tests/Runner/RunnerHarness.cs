using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Cloister.Sandbox.Runner;

namespace Cloister.Sandbox.Tests.Runner;

/// <summary>
/// A runner started as a plain child process (no sandbox): the protocol works over any pair of
/// streams, and these tests are about the protocol. The sandbox backends have their own tests.
/// </summary>
internal sealed class RunnerHarness : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Task _stderrPump;
    private bool _disposed;

    private RunnerHarness(Process process, string scratch, RunnerSessionOptions options)
    {
        _process = process;
        Scratch = scratch;
        Session = new RunnerSession(process.StandardInput.BaseStream, process.StandardOutput.BaseStream, options);
        _stderrPump = PumpStderrAsync();
    }

    public RunnerSession Session { get; }

    public string Scratch { get; }

    public int ProcessId => _process.Id;

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static RunnerHarness Start(TempDirectory dir, string executable, IEnumerable<string> arguments, RunnerSessionOptions? options = null)
    {
        string scratch = Path.Combine(dir.Path, "scratch");
        Directory.CreateDirectory(scratch);
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir.Path,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment[Runners.ScratchDirVariable] = scratch;
        options ??= new RunnerSessionOptions();
        info.Environment[Runners.MaxFrameBytesVariable] = options.MaxFrameBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + executable);
        return new RunnerHarness(process, scratch, options);
    }

    /// <summary>python3 runner.py handler.py, with the handler's source written to the temp dir.</summary>
    public static RunnerHarness Python(TempDirectory dir, string handlerSource, RunnerSessionOptions? options = null)
    {
        Runners.Extract(Path.Combine(dir.Path, "runner"));
        string handler = dir.Write("fn/handler.py", handlerSource);
        return Start(dir, "/usr/bin/python3", [Path.Combine(dir.Path, "runner", Runners.PythonFileName), handler], options);
    }

    /// <summary>node runner.js handler.js, with the handler's source written to the temp dir.</summary>
    public static RunnerHarness Node(TempDirectory dir, string handlerSource, RunnerSessionOptions? options = null)
    {
        Runners.Extract(Path.Combine(dir.Path, "runner"));
        string handler = dir.Write("fn/handler.js", handlerSource);
        return Start(dir, "/usr/bin/node", [Path.Combine(dir.Path, "runner", Runners.NodeFileName), handler], options);
    }

    /// <summary>A "native" function or a fake runner: a Python script speaking the frames itself.</summary>
    public static RunnerHarness Script(TempDirectory dir, string scriptSource, RunnerSessionOptions? options = null)
    {
        string script = dir.Write("fn/native.py", scriptSource);
        return Start(dir, "/usr/bin/python3", [script], options);
    }

    /// <summary>Ends a runner the test left hanging (a sleeping fake runner, a timed-out handler).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public async Task<InvocationOutcome> InvokeAsync(string eventJson, IHostCalls? hostCalls = null)
    {
        using var document = JsonDocument.Parse(eventJson);
        return await Session.InvokeAsync(document.RootElement, hostCalls ?? new FakeHostCalls(), CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
        }

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        await _stderrPump;
        _process.Dispose();
    }

    private async Task PumpStderrAsync()
    {
        char[] buffer = new char[4096];
        while (true)
        {
            int n = await _process.StandardError.ReadAsync(buffer, CancellationToken.None);
            if (n == 0)
            {
                return;
            }

            lock (_stderr)
            {
                _stderr.Append(buffer, 0, n);
            }
        }
    }
}

/// <summary>
/// The host side's policy stand-in: knows some tokens, refuses others, records every call.
/// (The code under test is the protocol; the manifest checks live in the enclave.)
/// </summary>
internal sealed class FakeHostCalls : IHostCalls
{
    public Dictionary<string, string> Vault { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Denied { get; } = new(StringComparer.Ordinal);

    public List<string> Logs { get; } = [];

    public List<(string Value, string Format)> Tokenized { get; } = [];

    public TimeSpan Delay { get; init; } = TimeSpan.Zero;

    public async ValueTask<HostCallResult> RevealAsync(string token, CancellationToken cancellationToken)
    {
        await PauseAsync(cancellationToken);
        if (Denied.Contains(token))
        {
            return HostCallResult.Failure("permission-denied", "the manifest does not allow this classifier");
        }

        return Vault.TryGetValue(token, out string? value)
            ? HostCallResult.Success(value)
            : HostCallResult.Failure("not-found", "no such token");
    }

    public async ValueTask<HostCallResult> TokenizeAsync(string value, string format, CancellationToken cancellationToken)
    {
        await PauseAsync(cancellationToken);
        lock (Tokenized)
        {
            Tokenized.Add((value, format));
            return HostCallResult.Success("tok_" + format + "_" + Tokenized.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public async ValueTask<HostCallResult> LogAsync(string message, CancellationToken cancellationToken)
    {
        await PauseAsync(cancellationToken);
        lock (Logs)
        {
            Logs.Add(message);
        }

        return HostCallResult.Success();
    }

    private async ValueTask PauseAsync(CancellationToken cancellationToken)
    {
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken);
        }
    }
}
