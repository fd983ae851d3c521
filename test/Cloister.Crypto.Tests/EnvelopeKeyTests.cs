namespace Cloister.Crypto.Tests;

public sealed class EnvelopeKeyTests
{
    private static readonly byte[] Key = Convert.FromHexString("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
    private static readonly byte[] AssociatedData = "tenant:7"u8.ToArray();

    [Fact]
    public void Blobs_AreInterchangeableWithTheStaticEnvelope()
    {
        using var key = new EnvelopeKey(Key);

        byte[] fromKey = key.Seal("4111111111111111"u8, AssociatedData);
        byte[] fromStatic = Envelope.Seal(Key, "5500000000000004"u8, AssociatedData);

        Assert.True(Envelope.TryOpen(Key, fromKey, AssociatedData, out byte[]? a));
        Assert.True(key.TryOpen(fromStatic, AssociatedData, out byte[]? b));
        Assert.Equal("4111111111111111"u8.ToArray(), a);
        Assert.Equal("5500000000000004"u8.ToArray(), b);
    }

    [Fact]
    public void TryOpen_EverySingleBitFlip_IsRejected()
    {
        using var key = new EnvelopeKey(Key);
        byte[] blob = key.Seal(new byte[24], AssociatedData);

        for (int bit = 0; bit < blob.Length * 8; bit++)
        {
            byte[] mutated = (byte[])blob.Clone();
            mutated[bit / 8] ^= (byte)(1 << (bit % 8));

            Assert.False(key.TryOpen(mutated, AssociatedData, out _), $"bit {bit} accepted");
        }
    }

    [Fact]
    public void TryOpen_WrongKeyOrAssociatedData_IsRejected()
    {
        using var key = new EnvelopeKey(Key);
        byte[] otherBytes = (byte[])Key.Clone();
        otherBytes[31] ^= 1;
        using var other = new EnvelopeKey(otherBytes);
        byte[] blob = key.Seal("secret"u8, AssociatedData);

        Assert.False(other.TryOpen(blob, AssociatedData, out _));
        Assert.False(key.TryOpen(blob, "tenant:8"u8, out _));
        Assert.True(key.TryOpen(blob, AssociatedData, out _));
    }

    [Fact]
    public void TryOpen_RandomMutations_NeverThrowAndNeverAccept()
    {
        var random = new Random(39);
        using var key = new EnvelopeKey(Key);
        byte[] blob = key.Seal(new byte[40], AssociatedData);

        for (int i = 0; i < 5000; i++)
        {
            byte[] mutated = EnvelopeTests.Mutate(random, blob);
            if (mutated.AsSpan().SequenceEqual(blob))
            {
                continue;
            }

            Assert.False(key.TryOpen(mutated, AssociatedData, out _));
        }
    }

    [Fact]
    public void ConcurrentCallers_AllRoundTrip()
    {
        using var key = new EnvelopeKey(Key);

        Parallel.For(0, 20_000, i =>
        {
            byte[] plaintext = BitConverter.GetBytes(i);
            byte[] blob = key.Seal(plaintext, AssociatedData);
            Assert.True(key.TryOpen(blob, AssociatedData, out byte[]? opened));
            Assert.Equal(plaintext, opened);
        });
    }

    [Fact]
    public void AfterDispose_Throws()
    {
        var key = new EnvelopeKey(Key);
        byte[] blob = key.Seal("x"u8, AssociatedData);
        key.Dispose();

        Assert.Throws<ObjectDisposedException>(() => key.Seal("x"u8, AssociatedData));
        Assert.Throws<ObjectDisposedException>(() => key.TryOpen(blob, AssociatedData, out _));
    }
}
