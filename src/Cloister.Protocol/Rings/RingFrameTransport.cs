namespace Cloister.Protocol.Rings;

// CONTRACT STUB (issue 5): the public API of the shared-memory ring transport between the router and
// the enclave worker. The ring helper replaces the bodies. One shared memory file holds two
// single-producer/single-consumer rings: requests (router -> worker) and responses (worker -> router).

/// <summary>Sizes of the rings in the shared memory file.</summary>
public sealed record RingOptions
{
    /// <summary>Bytes per slot (a message larger than one slot spans several).</summary>
    public int SlotSize { get; init; } = 4096;

    /// <summary>Slots per ring (a power of two).</summary>
    public int SlotCount { get; init; } = 256;
}

/// <summary>
/// The router's side: creates the shared memory file, sends request frames and matches response frames
/// to their callers (many callers may send concurrently).
/// </summary>
public sealed class RingFrameTransport : IFrameTransport, IAsyncDisposable
{
    private RingFrameTransport()
    {
    }

    /// <summary>The shared memory file the worker opens (pass it on the worker's command line).</summary>
    public string Path => throw new NotImplementedException();

    /// <summary>Create the file at <paramref name="path"/> (0600) and the rings in it.</summary>
    public static RingFrameTransport Create(string path, RingOptions? options = null) => throw new NotImplementedException();

    /// <inheritdoc />
    /// <exception cref="TransportUnavailableException">The worker is gone (see <see cref="Fail"/>) or the transport is disposed.</exception>
    public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>The worker died: fail every in-flight and later send with <see cref="TransportUnavailableException"/>.</summary>
    public void Fail(string reason) => throw new NotImplementedException();

    /// <summary>Fails pending sends, unmaps and deletes the file.</summary>
    public ValueTask DisposeAsync() => throw new NotImplementedException();
}

/// <summary>The worker's side: opens the file the router created and serves requests with a handler.</summary>
public sealed class RingFrameServer : IAsyncDisposable
{
    private RingFrameServer()
    {
    }

    /// <summary>Open the shared memory file at <paramref name="path"/>.</summary>
    public static RingFrameServer Open(string path) => throw new NotImplementedException();

    /// <summary>Read requests and answer each with <paramref name="handler"/> (concurrently) until cancelled.</summary>
    public Task RunAsync(IFrameHandler handler, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Stops serving and unmaps the file.</summary>
    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
