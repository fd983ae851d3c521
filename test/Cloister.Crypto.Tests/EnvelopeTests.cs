using System.Security.Cryptography;

namespace Cloister.Crypto.Tests;

public sealed class EnvelopeTests
{
    private static readonly byte[] Key = Convert.FromHexString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    private static readonly byte[] AssociatedData = "tenant:42/token:abc"u8.ToArray();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(1024)]
    public void Seal_ThenTryOpen_ReturnsPlaintext(int length)
    {
        byte[] plaintext = RandomNumberGenerator.GetBytes(length);

        byte[] blob = Envelope.Seal(Key, plaintext, AssociatedData);

        Assert.True(Envelope.TryOpen(Key, blob, AssociatedData, out byte[]? opened));
        Assert.Equal(plaintext, opened);
    }

    [Fact]
    public void Seal_WritesVersionNonceCiphertextTag()
    {
        byte[] plaintext = new byte[20];

        byte[] blob = Envelope.Seal(Key, plaintext, AssociatedData);

        Assert.Equal(1 + 12 + 20 + 16, blob.Length);
        Assert.Equal(Envelope.GetSealedLength(20), blob.Length);
        Assert.Equal(1, blob[0]);
    }

    [Fact]
    public void Seal_SamePlaintextTwice_UsesFreshNonces()
    {
        byte[] first = Envelope.Seal(Key, "4111111111111111"u8, AssociatedData);
        byte[] second = Envelope.Seal(Key, "4111111111111111"u8, AssociatedData);

        Assert.NotEqual(first.AsSpan(1, 12).ToArray(), second.AsSpan(1, 12).ToArray());
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void TryOpen_EverySingleBitFlip_IsRejected()
    {
        byte[] blob = Envelope.Seal(Key, "4111111111111111"u8, AssociatedData);

        for (int bit = 0; bit < blob.Length * 8; bit++)
        {
            byte[] mutated = (byte[])blob.Clone();
            mutated[bit / 8] ^= (byte)(1 << (bit % 8));

            Assert.False(Envelope.TryOpen(Key, mutated, AssociatedData, out byte[]? opened), $"bit {bit} accepted");
            Assert.Null(opened);
        }
    }

    [Fact]
    public void TryOpen_WrongAssociatedData_IsRejected()
    {
        byte[] blob = Envelope.Seal(Key, "secret"u8, AssociatedData);

        Assert.False(Envelope.TryOpen(Key, blob, "tenant:43/token:abc"u8, out _));
        Assert.False(Envelope.TryOpen(Key, blob, [], out _));
    }

    [Fact]
    public void TryOpen_WrongKey_IsRejected()
    {
        byte[] blob = Envelope.Seal(Key, "secret"u8, AssociatedData);
        byte[] otherKey = (byte[])Key.Clone();
        otherKey[0] ^= 0x80;

        Assert.False(Envelope.TryOpen(otherKey, blob, AssociatedData, out _));
    }

    [Fact]
    public void TryOpen_UnknownVersion_IsRejected()
    {
        byte[] blob = Envelope.Seal(Key, "secret"u8, AssociatedData);

        foreach (byte version in new byte[] { 0, 2, 255 })
        {
            blob[0] = version;
            Assert.False(Envelope.TryOpen(Key, blob, AssociatedData, out _));
        }
    }

    [Fact]
    public void TryOpen_EveryTruncation_IsRejected()
    {
        byte[] blob = Envelope.Seal(Key, "secret"u8, AssociatedData);

        for (int length = 0; length < blob.Length; length++)
        {
            Assert.False(Envelope.TryOpen(Key, blob.AsSpan(0, length), AssociatedData, out _), $"length {length} accepted");
            Assert.False(Envelope.TryOpen(Key, blob.AsSpan(blob.Length - length), AssociatedData, out _), $"suffix {length} accepted");
        }
    }

    [Fact]
    public void TryOpen_RandomMutations_NeverThrowAndNeverAccept()
    {
        var random = new Random(38);
        byte[] blob = Envelope.Seal(Key, RandomNumberGenerator.GetBytes(48), AssociatedData);

        for (int i = 0; i < 5000; i++)
        {
            byte[] mutated = Mutate(random, blob);
            if (mutated.AsSpan().SequenceEqual(blob))
            {
                continue;
            }

            Assert.False(Envelope.TryOpen(Key, mutated, AssociatedData, out _));
        }
    }

    [Fact]
    public void SpanOverloads_RoundTripAndClearOnFailure()
    {
        byte[] plaintext = "4111111111111111"u8.ToArray();
        byte[] blob = new byte[Envelope.GetSealedLength(plaintext.Length) + 5];

        int written = Envelope.Seal(Key, plaintext, AssociatedData, blob);
        byte[] destination = new byte[64];
        Assert.True(Envelope.TryOpen(Key, blob.AsSpan(0, written), AssociatedData, destination, out int opened));
        Assert.Equal(plaintext, destination.AsSpan(0, opened).ToArray());

        Assert.False(Envelope.TryOpen(Key, blob.AsSpan(0, written), "other"u8, destination, out opened));
        Assert.Equal(0, opened);
        Assert.All(destination, b => Assert.Equal(0, b));
    }

    [Fact]
    public void SpanOverloads_DestinationTooShort_Throws()
    {
        byte[] blob = Envelope.Seal(Key, new byte[16], AssociatedData);

        Assert.Throws<ArgumentException>(() => Envelope.Seal(Key, new byte[16], AssociatedData, new byte[blob.Length - 1]));
        Assert.Throws<ArgumentException>(() => Envelope.TryOpen(Key, blob, AssociatedData, new byte[15], out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(24)]
    [InlineData(31)]
    [InlineData(33)]
    public void KeyNot32Bytes_Throws(int keyLength)
    {
        byte[] key = new byte[keyLength];

        Assert.Throws<ArgumentException>(() => Envelope.Seal(key, "x"u8, []));
        Assert.Throws<ArgumentException>(() => Envelope.TryOpen(key, new byte[64], [], out _));
        Assert.Throws<ArgumentException>(() => new EnvelopeKey(key));
    }

    internal static byte[] Mutate(Random random, byte[] blob)
    {
        byte[] mutated = (byte[])blob.Clone();
        switch (random.Next(4))
        {
            case 0:
                mutated[random.Next(mutated.Length)] ^= (byte)random.Next(1, 256);
                return mutated;
            case 1:
                return mutated[..random.Next(mutated.Length)];
            case 2:
                byte[] extended = new byte[mutated.Length + random.Next(1, 8)];
                mutated.CopyTo(extended, 0);
                return extended;
            default:
                random.NextBytes(mutated.AsSpan(random.Next(mutated.Length)));
                return mutated;
        }
    }
}
