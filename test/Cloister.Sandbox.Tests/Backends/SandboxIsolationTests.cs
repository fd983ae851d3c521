using System.Net;
using System.Net.Sockets;
using Cloister.Sandbox.Backends;
using static Cloister.Sandbox.Tests.Backends.SandboxHarness;

namespace Cloister.Sandbox.Tests.Backends;

/// <summary>What a well-behaved program sees inside a sandbox, on both backends.</summary>
public sealed class SandboxIsolationTests
{
    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItPassesStdinToTheProgramAndItsStdoutBack(string backend)
    {
        var (exit, output, _) = await RunAsync(backend, PythonSpec("import sys; sys.stdout.write(sys.stdin.read().upper())"), "frame-bytes");

        Assert.True(exit.Reason == SandboxExitReason.Exited, $"expected Exited, got {exit}");
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("FRAME-BYTES", output);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItRunsNodeWithTheDefaultLimits(string backend)
    {
        var spec = new SandboxSpec("/usr/bin/node") { Arguments = ["-e", "console.log(JSON.stringify({ok: 6 * 7}))"] };

        var (exit, output, _) = await RunAsync(backend, spec);

        Assert.True(exit.Reason == SandboxExitReason.Exited && exit.ExitCode == 0, $"{exit}");
        Assert.Equal("{\"ok\":42}", output.Trim());
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItRunsTheProgramAsAnUnprivilegedUser(string backend)
    {
        var (exit, output, _) = await RunAsync(backend, PythonSpec("import os; print(os.getuid(), os.getgid(), os.geteuid())"));

        Assert.True(exit.Reason == SandboxExitReason.Exited, $"expected Exited, got {exit}");
        Assert.Equal("65534 65534 65534", output.Trim());
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItKeepsTheRootFilesystemReadOnly(string backend)
    {
        const string script = """
            import errno
            for path in ['/x', '/usr/x', '/etc/x', '/fn/x']:
                try:
                    open(path, 'w'); print(path, 'WRITABLE')
                except OSError as e:
                    print(path, errno.errorcode[e.errno])
            """;
        using var bundle = TempDirectory.Create("sbx", sandboxReadable: true);
        var spec = PythonSpec(script) with { ReadOnlyBinds = new Dictionary<string, string> { [bundle.Path] = "/fn" } };

        var (exit, output, _) = await RunAsync(backend, spec);

        Assert.True(exit.Reason == SandboxExitReason.Exited, $"expected Exited, got {exit}");
        Assert.DoesNotContain("WRITABLE", output, StringComparison.Ordinal);
        Assert.Equal(4, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItShowsTheBoundBundleButNoHostSecretOrOtherBundle(string backend)
    {
        using var bundle = TempDirectory.Create("sbx", sandboxReadable: true);
        File.WriteAllText(Path.Combine(bundle.Path, "handler.py"), "ours");
        using var dataDir = TempDirectory.Create("sbx", sandboxReadable: true);
        File.WriteAllText(Path.Combine(dataDir.Path, "master.key"), "host-secret-value");
        using var otherBundle = TempDirectory.Create("sbx", sandboxReadable: true);
        File.WriteAllText(Path.Combine(otherBundle.Path, "handler.py"), "theirs");
        var script = $$"""
            import os
            print('bundle', open('/fn/handler.py').read())
            for path in ['/etc/shadow', '/etc/passwd', '/root', '/home', '/var', '/run', {{Quote(dataDir.Path)}}, {{Quote(otherBundle.Path)}}, {{Quote(Path.Combine(dataDir.Path, "master.key"))}}]:
                print(path, 'VISIBLE' if os.path.exists(path) else 'absent')
            print('root', sorted(os.listdir('/')))
            """;
        var spec = PythonSpec(script) with { ReadOnlyBinds = new Dictionary<string, string> { [bundle.Path] = "/fn" } };

        var (exit, output, _) = await RunAsync(backend, spec);

        Assert.True(exit.Reason == SandboxExitReason.Exited, $"expected Exited, got {exit}");
        Assert.Contains("bundle ours", output, StringComparison.Ordinal);
        Assert.DoesNotContain("VISIBLE", output, StringComparison.Ordinal);
        Assert.DoesNotContain("host-secret-value", output, StringComparison.Ordinal);
        Assert.DoesNotContain("theirs", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItCannotConnectToAListenerOnTheHostLoopback(string backend)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var script = $$"""
            import socket
            print('interfaces', sorted(name for _, name in socket.if_nameindex()))
            for host in ['127.0.0.1', '10.0.2.2', '192.168.10.1', '1.1.1.1']:
                s = socket.socket(); s.settimeout(2)
                try:
                    s.connect((host, {{port}})); print(host, 'CONNECTED')
                except OSError as e:
                    print(host, 'failed', e)
            """;

        var (exit, output, _) = await RunAsync(backend, PythonSpec(script));

        Assert.True(exit.Reason == SandboxExitReason.Exited, $"expected Exited, got {exit}");
        Assert.DoesNotContain("CONNECTED", output, StringComparison.Ordinal);
        Assert.Contains("interfaces ['lo']", output, StringComparison.Ordinal);
        Assert.Equal(4, output.Split("failed", StringSplitOptions.None).Length - 1);
        Assert.False(listener.Pending(), "the host listener saw a connection from the sandbox");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItSeesOnlyItsOwnProcessesAndTheBasicDevices(string backend)
    {
        const string script = """
            import os
            open('/dev/null', 'w').write('x')
            print('random', len(open('/dev/urandom', 'rb').read(16)))
            print('pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
            """;

        var (exit, output, _) = await RunAsync(backend, PythonSpec(script));

        Assert.True(exit.Reason == SandboxExitReason.Exited && exit.ExitCode == 0, $"{exit}");
        Assert.Contains("random 16", output, StringComparison.Ordinal);
        var pids = output.Split("pids [")[1].TrimEnd(']', '\n', ' ').Split(", ").Select(int.Parse).ToArray();
        Assert.True(pids.Length <= 3, $"the sandbox sees {pids.Length} processes: {string.Join(' ', pids)}");
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItGivesEverySandboxAFreshTmp(string backend)
    {
        var (first, written, _) = await RunAsync(backend, PythonSpec("open('/tmp/left-behind', 'w').write('x'); print('wrote')"));
        var (second, seen, _) = await RunAsync(backend, PythonSpec("import os; print(os.path.exists('/tmp/left-behind'))"));

        Assert.True(first.Reason == SandboxExitReason.Exited, $"expected Exited, got {first}");
        Assert.Equal("wrote", written.Trim());
        Assert.True(second.Reason == SandboxExitReason.Exited, $"expected Exited, got {second}");
        Assert.Equal("False", seen.Trim());
    }

    [Theory]
    [InlineData("runsc")]
    [InlineData("bwrap")]
    public async Task ItLimitsTheSizeOfTmp(string backend)
    {
        var limits = new SandboxLimits { TmpfsMiB = 4, WallTimeout = TimeSpan.FromSeconds(20) };
        const string script = """
            try:
                with open('/tmp/big', 'wb') as f:
                    for i in range(64): f.write(b'x' * 1024 * 1024)
                print('WROTE 64 MiB')
            except OSError as e:
                print('refused', e.errno)
            """;

        var (exit, output, _) = await RunAsync(backend, PythonSpec(script, limits));

        Assert.DoesNotContain("WROTE", output, StringComparison.Ordinal);
        Assert.True(output.Contains("refused", StringComparison.Ordinal) || exit.Reason != SandboxExitReason.Exited, $"{exit} {output}");
    }

    [Fact]
    public void DetectPrefersGVisor()
    {
        var backend = SandboxBackends.Detect(out var message);

        Assert.NotNull(backend);
        Assert.Equal("runsc", backend.Name);
        Assert.Contains("runsc", message, StringComparison.Ordinal);
    }

    [Fact]
    public void SpecRejectsABindOverTheSandboxsOwnDirectories()
    {
        using var dir = TempDirectory.Create("sbx", sandboxReadable: true);
        var spec = new SandboxSpec(Python) { ReadOnlyBinds = new Dictionary<string, string> { [dir.Path] = "/usr/lib/x" } };

        Assert.Throws<ArgumentException>(spec.Validate);
        Assert.Throws<ArgumentException>(new SandboxSpec("python3").Validate);
        Assert.Throws<ArgumentException>(new SandboxLimits { MemoryMiB = 0 }.Validate);
        Assert.Throws<ArgumentException>(new SandboxLimits { WallTimeout = TimeSpan.Zero }.Validate);
        new SandboxSpec(Python).Validate();
    }

    private static string Quote(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
