using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace Cloister.Protocol.Rings;

/// <summary>
/// A caller's wait for its response, completed by the transport's reader thread, by the caller's cancellation
/// or by <see cref="RingFrameTransport.Fail"/>; whichever claims it first wins. Instances are pooled, but only
/// after the reader completed them and finished touching them: one that was cancelled or failed may still be
/// referenced by a late completer, so it is left to the garbage collector.
/// </summary>
internal sealed class PendingResponse : IValueTaskSource<byte[]>
{
    private const int MaxPooled = 256;
    private static readonly ConcurrentQueue<PendingResponse> Pool = new();

    private ManualResetValueTaskSourceCore<byte[]> _core = new() { RunContinuationsAsynchronously = true };
    private int _claimed;
    private int _reusable;

    public long Id { get; private set; }

    public RingFrameTransport? Owner { get; private set; }

    public static PendingResponse Rent(RingFrameTransport owner, long id)
    {
        if (!Pool.TryDequeue(out var pending))
        {
            pending = new PendingResponse();
        }

        pending.Id = id;
        pending.Owner = owner;
        return pending;
    }

    public ValueTask<byte[]> Task => new(this, _core.Version);

    /// <summary>Take the right to complete this wait; false when someone else already did.</summary>
    public bool TryClaim() => Interlocked.Exchange(ref _claimed, 1) == 0;

    /// <summary>Complete with the response (after <see cref="TryClaim"/>) and mark the instance reusable.</summary>
    public void SetResult(byte[] response)
    {
        _core.SetResult(response);
        Volatile.Write(ref _reusable, 1);
    }

    /// <summary>Complete with a failure (after <see cref="TryClaim"/>).</summary>
    public void SetException(Exception error) => _core.SetException(error);

    /// <summary>Return to the pool if the reader completed it; call after the awaited result was taken.</summary>
    public void Return()
    {
        if (Volatile.Read(ref _reusable) == 1 && Pool.Count < MaxPooled)
        {
            _core.Reset();
            _claimed = 0;
            _reusable = 0;
            Owner = null;
            Pool.Enqueue(this);
        }
    }

    public byte[] GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
