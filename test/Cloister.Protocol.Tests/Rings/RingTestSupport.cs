using Cloister.Protocol.Rings;

namespace Cloister.Protocol.Tests.Rings;

/// <summary>A router transport and a worker server on one ring file in /dev/shm, served on threads of this process.</summary>
internal sealed class RingPair : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private RingPair(RingFrameTransport transport, RingFrameServer server, Task serving)
    {
        Transport = transport;
        Server = server;
        Serving = serving;
    }

    public RingFrameTransport Transport { get; }

    public RingFrameServer Server { get; }

    public Task Serving { get; }

    /// <summary>Small rings so that multi-slot, wrap-around and larger-than-the-ring cases happen with small messages.</summary>
    public static RingOptions Small => new() { SlotSize = 256, SlotCount = 16 };

    /// <summary>A new ring path named like serve's (<c>cloister-{pid}-{start}-….ring</c>), so that a run killed mid-test leaves nothing for long: the next serve start sweeps it.</summary>
    public static string NewPath() => Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"cloister-{ProcessIdentity.Current}-test{Guid.NewGuid():N}.ring");

    public static RingPair Start(IFrameHandler handler, RingOptions? options = null)
    {
        var transport = RingFrameTransport.Create(NewPath(), options);
        var server = RingFrameServer.Open(transport.Path);
        return new RingPair(transport, server, server.RunAsync(handler, CancellationToken.None));
    }

    public async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync();
        await Server.DisposeAsync();
        _stop.Dispose();
    }
}

/// <summary>Answers each request with its bytes XOR 0xA5 (test/Cloister.RingPeer does the same in another process).</summary>
internal sealed class XorHandler : IFrameHandler
{
    private long _calls;

    public long Calls => Interlocked.Read(ref _calls);

    public static byte[] Transform(ReadOnlySpan<byte> request)
    {
        var response = request.ToArray();
        for (int i = 0; i < response.Length; i++)
        {
            response[i] ^= 0xA5;
        }

        return response;
    }

    public ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return ValueTask.FromResult(Transform(request.Span));
    }
}

/// <summary>Waits for a gate before answering a request whose first byte is <see cref="Marker"/>; others answer at once.</summary>
internal sealed class GatedHandler : IFrameHandler
{
    public const byte Marker = 0xEE;

    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Entered => _entered.Task;

    public void Open() => _gate.TrySetResult();

    public async ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        if (request.Length > 0 && request.Span[0] == Marker)
        {
            _entered.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
        }

        return XorHandler.Transform(request.Span);
    }
}

internal static class Payloads
{
    public static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
