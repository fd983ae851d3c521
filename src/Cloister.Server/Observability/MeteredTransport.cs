using Cloister.Protocol;

namespace Cloister.Server.Observability;

/// <summary>
/// Wraps the router's transport to the enclave worker to count the frames in flight per lane and time their round
/// trips (<see cref="RouterMetrics"/>). It sees only lanes, timings and how a send ended, never a frame's bytes.
/// </summary>
internal sealed class MeteredTransport(IFrameTransport inner, RouterMetrics metrics, TimeProvider time) : IFrameTransport
{
    /// <inheritdoc />
    public ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        => SendAsync(request, FrameLane.Request, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<byte[]> SendAsync(ReadOnlyMemory<byte> request, FrameLane lane, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var outcome = "failed";
        metrics.FrameSent(lane);
        try
        {
            var response = await inner.SendAsync(request, lane, cancellationToken).ConfigureAwait(false);
            outcome = "ok";
            return response;
        }
        catch (TransportUnavailableException)
        {
            outcome = "unavailable";
            throw;
        }
        catch (FrameTooLargeException)
        {
            outcome = "too-large";
            throw;
        }
        catch (OperationCanceledException)
        {
            outcome = "cancelled";
            throw;
        }
        finally
        {
            metrics.FrameAnswered(lane, outcome, time.GetElapsedTime(started));
        }
    }
}
