using System.Net;
using System.Net.Sockets;

namespace Cloister.IntegrationTests.Processes;

/// <summary>
/// A loopback TCP forwarder between two processes whose link can be cut and restored: a network partition. While cut,
/// connections are still accepted and bytes read, but nothing is passed on until the link is restored (then what was held
/// goes through, as after a partition heals). Unlike stopping a process, nothing else on the machine can undo a cut.
/// </summary>
public sealed class LinkCut : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private TaskCompletionSource _open = Open();

    private LinkCut(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The forwarder's own URL, to give the process that should reach the target through it.</summary>
    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    /// <summary>Forwards to <paramref name="target"/> (a loopback URL).</summary>
    public static LinkCut To(Uri target) => new(target.Port);

    /// <summary>Nothing passes from now on (in either direction) until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        var current = Volatile.Read(ref _open);
        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _open, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        }
    }

    /// <summary>What was held and all that follows passes again.</summary>
    public void Restore() => Volatile.Read(ref _open).TrySetResult();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Restore();
        await _accepting;
        _stop.Dispose();
    }

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        using (client)
        using (var target = new TcpClient())
        {
            try
            {
                await target.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                using var either = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var up = PumpAsync(client.GetStream(), target.GetStream(), either.Token);
                var down = PumpAsync(target.GetStream(), client.GetStream(), either.Token);
                await Task.WhenAny(up, down);
                await either.CancelAsync(); // one side closed: close both
                await Task.WhenAll(up, down);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // The connection ends; the process on the other side sees it closed.
            }
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await Volatile.Read(ref _open).Task.WaitAsync(cancellationToken);
                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            // Closed or cancelled: the other pump is told by the caller.
        }
    }
}
