using System.Buffers.Binary;
using System.Numerics;

namespace Cloister.Protocol.Tests.Rings;

public sealed class RingLoadTests
{
    [Fact]
    public async Task OneMillionMessages_ConcurrentCallers_NothingLostOrDuplicated()
    {
        const int Callers = 8;
        const int PerCaller = 125_000;
        var handler = new CountingHandler(Callers, PerCaller);
        await using var pair = RingPair.Start(handler);

        await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(() => RunCallerAsync(pair.Transport, caller, PerCaller))));

        Assert.Equal(Callers * PerCaller, handler.Calls);
        Assert.Equal(Callers * PerCaller, handler.Distinct);
    }

    internal static async Task RunCallerAsync(IFrameTransport transport, int caller, int count)
    {
        var random = new Random(caller);
        for (int i = 0; i < count; i++)
        {
            long sequence = ((long)caller << 32) | (uint)i;
            // Mostly small messages; every 1000th spans several slots so continuations happen under load too.
            int length = i % 1000 == 0 ? 20_000 + random.Next(20_000) : 12 + random.Next(100);
            var request = SequencedPayload.Create(sequence, length, random);

            var response = await transport.SendAsync(request, CancellationToken.None);

            var echoed = XorHandler.Transform(response);
            Assert.True(SequencedPayload.TryRead(echoed, out long answered), "a response failed its checksum");
            Assert.Equal(sequence, answered);
            Assert.Equal(request.Length, response.Length);
        }
    }

    /// <summary>Counts calls and marks each sequence number once, so a duplicate or a loss shows in the totals.</summary>
    private sealed class CountingHandler(int callers, int perCaller) : IFrameHandler
    {
        private readonly long[] _seen = new long[((callers * perCaller) + 63) / 64];
        private long _calls;
        private long _distinct;

        public long Calls => Interlocked.Read(ref _calls);

        public long Distinct => Interlocked.Read(ref _distinct);

        public ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            if (SequencedPayload.TryRead(request.Span, out long sequence))
            {
                long index = ((sequence >> 32) * perCaller) + (uint)sequence;
                long bit = 1L << (int)(index % 64);
                if ((Interlocked.Or(ref _seen[index / 64], bit) & bit) == 0)
                {
                    Interlocked.Increment(ref _distinct);
                }
            }

            return ValueTask.FromResult(XorHandler.Transform(request.Span));
        }
    }
}

/// <summary>A payload of [sequence:8][random bytes][checksum:4] (CRC32C over everything before it).</summary>
internal static class SequencedPayload
{
    public static byte[] Create(long sequence, int length, Random random)
    {
        var payload = new byte[Math.Max(length, 12)];
        BinaryPrimitives.WriteInt64LittleEndian(payload, sequence);
        random.NextBytes(payload.AsSpan(8, payload.Length - 12));
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(payload.Length - 4), Checksum(payload.AsSpan(0, payload.Length - 4)));
        return payload;
    }

    public static bool TryRead(ReadOnlySpan<byte> payload, out long sequence)
    {
        sequence = payload.Length >= 12 ? BinaryPrimitives.ReadInt64LittleEndian(payload) : -1;
        return payload.Length >= 12 && BinaryPrimitives.ReadUInt32LittleEndian(payload[^4..]) == Checksum(payload[..^4]);
    }

    private static uint Checksum(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}
