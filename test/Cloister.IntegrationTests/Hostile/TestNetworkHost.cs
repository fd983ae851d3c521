using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace Cloister.IntegrationTests.Hostile;

/// <summary>
/// A TCP listener in a network namespace the test creates for itself, joined to the test's own namespace by a
/// veth pair on a private /30 (so never an address outside the machine): the test process can connect to it,
/// which shows a sandbox that cannot is held by its own isolation. Needs root (as test.sh runs). Removed on dispose.
/// </summary>
internal sealed class TestNetworkHost : IAsyncDisposable
{
    public const int Port = 7070;

    private const string Listener =
        "import socket\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        + "s.bind(('0.0.0.0', 7070)); s.listen(16); print('listening', flush=True)\n"
        + "while True:\n    c, _ = s.accept(); c.close()\n";

    private readonly string _namespace;
    private readonly string _hostLink;
    private readonly Process _listener;

    private TestNetworkHost(string ns, string hostLink, string address, Process listener)
    {
        _namespace = ns;
        _hostLink = hostLink;
        Address = address;
        _listener = listener;
    }

    /// <summary>The listener's address (in 10.213.0.0/16).</summary>
    public string Address { get; }

    public static async Task<TestNetworkHost> StartAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var (ns, hostLink, peerLink) = ("clst-hostile-" + suffix, "clh" + suffix, "cln" + suffix);
        var subnet = Random.Shared.Next(1, 64) * 4;
        var third = Random.Shared.Next(0, 256).ToString(CultureInfo.InvariantCulture);
        var (hostAddress, peerAddress) = ($"10.213.{third}.{subnet + 1}", $"10.213.{third}.{subnet + 2}");
        try
        {
            await RunAsync("ip", "netns", "add", ns);
            await RunAsync("ip", "link", "add", hostLink, "type", "veth", "peer", "name", peerLink);
            await RunAsync("ip", "link", "set", peerLink, "netns", ns);
            await RunAsync("ip", "addr", "add", hostAddress + "/30", "dev", hostLink);
            await RunAsync("ip", "link", "set", hostLink, "up");
            await RunAsync("ip", "netns", "exec", ns, "ip", "addr", "add", peerAddress + "/30", "dev", peerLink);
            await RunAsync("ip", "netns", "exec", ns, "ip", "link", "set", peerLink, "up");
            await RunAsync("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
        }
        catch
        {
            await RemoveAsync(ns, hostLink);
            throw;
        }

        var listener = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", ns, "python3", "-c", Listener]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var host = new TestNetworkHost(ns, hostLink, peerAddress, listener);
        var line = await listener.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        if (line != "listening")
        {
            await host.DisposeAsync();
            throw new InvalidOperationException("the test host's listener did not start: " + await listener.StandardError.ReadToEndAsync());
        }

        return host;
    }

    /// <summary>Connects from the test process (the positive control).</summary>
    public async Task AssertReachableFromTheTestAsync()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(Address, Port).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(client.Connected);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_listener.HasExited)
        {
            _listener.Kill(entireProcessTree: true);
        }

        await _listener.WaitForExitAsync();
        _listener.Dispose();
        await RemoveAsync(_namespace, _hostLink);
    }

    private static async Task RemoveAsync(string ns, string hostLink)
    {
        // Deleting the namespace destroys the veth peer inside it, and with it the host end; the link delete is for a half-made setup.
        await RunAsync(true, "ip", "link", "del", hostLink);
        await RunAsync(true, "ip", "netns", "del", ns);
    }

    private static Task RunAsync(params string[] command) => RunAsync(false, command);

    private static async Task RunAsync(bool ignoreFailure, params string[] command)
    {
        using var process = Process.Start(new ProcessStartInfo(command[0], command[1..]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && !ignoreFailure)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} failed ({process.ExitCode}): {await error}");
        }
    }
}
