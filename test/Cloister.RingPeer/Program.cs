using Cloister.Protocol;
using Cloister.Protocol.Rings;

// Usage: Cloister.RingPeer <ring file>. Serves the file with the XOR handler until the router closes it or exits.
if (args.Length != 1)
{
    await Console.Error.WriteLineAsync("usage: Cloister.RingPeer <ring file>");
    return 2;
}

await using var server = RingFrameServer.Open(args[0]);
await Console.Out.WriteLineAsync("serving");
await server.RunAsync(new XorHandler(), CancellationToken.None);
return 0;

/// <summary>Answers each request with its bytes XOR 0xA5, the same transformation as the in-process tests' handler.</summary>
internal sealed class XorHandler : IFrameHandler
{
    public ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        var response = request.ToArray();
        for (int i = 0; i < response.Length; i++)
        {
            response[i] ^= 0xA5;
        }

        return ValueTask.FromResult(response);
    }
}
