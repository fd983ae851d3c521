using System.Collections.Concurrent;
using Cloister.Protocol;

namespace Cloister.Server.Tests.Functions;

/// <summary>
/// The enclave side of the invocation protocol played from a script: every request frame is decoded with the real codec,
/// recorded, and answered by <see cref="Script"/>, whose response is encoded back to bytes. It stands in only for the
/// enclave's decisions (which the enclave's own tests cover); everything on the router's side of the frames is real.
/// </summary>
internal sealed class ScriptedEnclave(Func<EnclaveRequest, int, EnclaveResponse> script) : IFrameHandler
{
    private readonly ConcurrentQueue<EnclaveRequest> _received = new();

    public Func<EnclaveRequest, int, EnclaveResponse> Script { get; } = script;

    /// <summary>Every request, decoded, in arrival order.</summary>
    public IReadOnlyList<EnclaveRequest> Received => [.. _received];

    public ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        var decoded = EnclaveCodec.DecodeRequest(request.Span) ?? throw new InvalidOperationException("The router sent an undecodable frame.");
        var index = _received.Count;
        _received.Enqueue(decoded);
        return ValueTask.FromResult(EnclaveCodec.Encode(Script(decoded, index)));
    }
}
