namespace Cloister.Protocol;

/// <summary>
/// Carries one encoded request frame to the enclave and returns its encoded response frame.
/// Implementations: in-process (now), shared-memory rings and HTTP (when the enclave becomes its own process).
/// </summary>
public interface IFrameTransport
{
    /// <summary>Send one request frame and wait for its response frame.</summary>
    ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken);

    /// <summary>
    /// Send one request frame in <paramref name="lane"/>. Transports with a bounded number of requests in the worker
    /// (the rings) keep a separate share per lane; the others ignore the lane.
    /// </summary>
    ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, FrameLane lane, CancellationToken cancellationToken)
        => SendAsync(request, cancellationToken);
}

/// <summary>The receiving side of a transport: decodes a request frame, handles it, encodes the response.</summary>
public interface IFrameHandler
{
    /// <summary>Handle one request frame.</summary>
    ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken);
}

/// <summary>
/// Calls the handler in the same process. The frame is still bytes: the caller and the handler share
/// no objects, exactly as they will across a process boundary.
/// </summary>
public sealed class InProcessTransport(IFrameHandler handler) : IFrameTransport
{
    /// <inheritdoc />
    public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        => handler.HandleAsync(request, cancellationToken);
}

/// <summary>
/// A request frame, or the response to it, is larger than the transport carries (<see cref="FrameLimits.MaxFrameBytes"/>).
/// Only that request fails; the transport stays usable. The message never contains frame contents.
/// </summary>
public sealed class FrameTooLargeException : Exception
{
    /// <summary>Create with the limit that was exceeded.</summary>
    public FrameTooLargeException(string message, long limit)
        : base(message)
    {
        Limit = limit;
    }

    /// <summary>The largest frame the transport carries, in bytes.</summary>
    public long Limit { get; }
}

/// <summary>
/// The other side of a transport is unreachable (the worker died and is restarting, the broker is down).
/// The request may be retried; the message never contains frame contents.
/// </summary>
public sealed class TransportUnavailableException : Exception
{
    /// <summary>Create with a reason such as "the enclave worker exited (code 137); it is restarting".</summary>
    public TransportUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Create with a reason and the underlying failure.</summary>
    public TransportUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
