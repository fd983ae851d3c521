using System.Collections.Concurrent;
using Cloister.Protocol;

namespace Cloister.Server.Tests.Functions;

/// <summary>
/// The enclave side of the invocation protocol played from a script: every request frame is decoded with the real codec,
/// recorded, and answered by the script, whose response is encoded back to bytes. It stands in only for the
/// enclave's decisions (which the enclave's own tests cover); everything on the router's side of the frames is real.
/// </summary>
internal sealed class ScriptedEnclave(Func<EnclaveRequest, int, CancellationToken, Task<EnclaveResponse>> script) : IFrameHandler
{
    private readonly ConcurrentQueue<EnclaveRequest> _received = new();

    public ScriptedEnclave(Func<EnclaveRequest, int, EnclaveResponse> script)
        : this((request, index, _) => Task.FromResult(script(request, index)))
    {
    }

    /// <summary>Every request, decoded, in arrival order.</summary>
    public IReadOnlyList<EnclaveRequest> Received => [.. _received];

    public async ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        var decoded = Frames.Enclave.DecodeRequest(request.Span) ?? throw new InvalidOperationException("The router sent an undecodable frame.");
        var index = _received.Count;
        _received.Enqueue(decoded);
        return Frames.Enclave.Encode(await script(decoded, index, cancellationToken));
    }
}
