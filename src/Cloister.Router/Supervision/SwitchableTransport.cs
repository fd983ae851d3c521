using Cloister.Protocol;

namespace Cloister.Router.Supervision;

/// <summary>
/// The router's transport to the enclave worker across worker restarts: sends go to the current worker's
/// transport, and the supervisor swaps in the next one when a restarted worker is ready. While there is
/// none, sends fail with <see cref="TransportUnavailableException"/> (503, retryable).
/// </summary>
internal sealed class SwitchableTransport : IFrameTransport
{
    private volatile IFrameTransport? _current;
    private volatile string _unavailable = "The enclave worker is starting.";

    /// <inheritdoc />
    public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        => SendAsync(request, FrameLane.Request, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, FrameLane lane, CancellationToken cancellationToken)
        => _current is { } current
            ? current.SendAsync(request, lane, cancellationToken)
            : ValueTask.FromException<byte[]>(new TransportUnavailableException(_unavailable));

    /// <summary>Route sends to <paramref name="next"/> from now on.</summary>
    public void Switch(IFrameTransport next) => _current = next;

    /// <summary>No worker: sends fail with <paramref name="reason"/> until the next <see cref="Switch"/>.</summary>
    public void Clear(string reason)
    {
        _unavailable = reason;
        _current = null;
    }
}
