namespace Cloister.Protocol;

/// <summary>
/// Carries one encoded request frame to the enclave and returns its encoded response frame.
/// Implementations: in-process (now), shared-memory rings and HTTP (when the enclave becomes its own process).
/// </summary>
public interface IFrameTransport
{
    /// <summary>Send one request frame and wait for its response frame.</summary>
    ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken);
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
