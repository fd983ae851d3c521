using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Cloister.Protocol.Rings;

namespace Cloister.Protocol.Tests.Rings;

/// <summary>A peer that writes garbage lengths into a ring (a bug or a compromised process) is refused, not trusted.</summary>
public sealed class RingCorruptionTests
{
    private const int RequestControl = 512;
    private const int ResponseControl = 1024;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    [InlineData(4097)] // above MaxMessageBytes = 4096
    public async Task ResponseWithOutOfRangeLength_FailsTheTransport(int length)
    {
        await using var transport = RingFrameTransport.Create(RingPair.NewPath(), RingPair.Small with { MaxMessageBytes = 4096 });
        var pending = transport.SendAsync(new byte[] { 1 }, CancellationToken.None).AsTask();

        using (var file = File.OpenHandle(transport.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            PublishHeader(file, ResponseControl, 4096 + (256 * 16), id: 1, length);
        }

        var error = await Assert.ThrowsAsync<TransportUnavailableException>(() => pending.WaitAsync(Patience));
        Assert.Contains("corrupt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestWithOutOfRangeLength_FaultsTheServer()
    {
        await using var transport = RingFrameTransport.Create(RingPair.NewPath(), RingPair.Small with { MaxMessageBytes = 4096 });
        await using var server = RingFrameServer.Open(transport.Path);
        var serving = server.RunAsync(new XorHandler(), CancellationToken.None);

        using (var file = File.OpenHandle(transport.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            PublishHeader(file, RequestControl, 4096, id: 1, length: -5);
        }

        await Assert.ThrowsAsync<InvalidDataException>(() => serving.WaitAsync(Patience));
    }

    /// <summary>Write a message header into slot 0 and publish it (tail = 1) behind the producer's back.</summary>
    private static void PublishHeader(SafeFileHandle file, int control, long data, long id, int length)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(header, id);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), length);
        RandomAccess.Write(file, header, data);
        var tail = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(tail, 1);
        RandomAccess.Write(file, tail, control); // the reader notices at its next check (spin or 100 ms sleep)
    }
}

public sealed class RingHeaderFuzzTests
{
    [Fact]
    public async Task Open_MutatedHeaders_EitherOpenOrAreRefusedCleanly()
    {
        await using var transport = RingFrameTransport.Create(RingPair.NewPath(), RingPair.Small);
        var original = await File.ReadAllBytesAsync(transport.Path);
        var random = new Random(5);
        string path = transport.Path + ".fuzz";
        try
        {
            for (int i = 0; i < 500; i++)
            {
                var mutated = (byte[])original.Clone();
                for (int flips = random.Next(1, 4); flips > 0; flips--)
                {
                    mutated[random.Next(64)] ^= (byte)random.Next(1, 256);
                }

                await File.WriteAllBytesAsync(path, mutated);
                try
                {
                    await using var server = RingFrameServer.Open(path);
                }
                catch (Exception error) when (error is InvalidDataException or InvalidOperationException)
                {
                    // Refused: the expected outcome for most mutations.
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
