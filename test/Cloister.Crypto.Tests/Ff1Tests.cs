namespace Cloister.Crypto.Tests;

public sealed class Ff1Tests
{
    private static readonly byte[] Key128 = Convert.FromHexString("2B7E151628AED2A6ABF7158809CF4F3C");

    [Theory]
    [InlineData(10)]
    [InlineData(36)]
    [InlineData(62)]
    public void EncryptThenDecrypt_EveryLengthUpTo100_RoundTrips(int radix)
    {
        var random = new Random(radix);
        using var ff1 = new Ff1(Key128, radix);
        byte[] tweak = [1, 2, 3, 4, 5, 6, 7, 8];
        for (int length = 2; length <= 100; length++)
        {
            if (!Ff1.IsDomainLargeEnough(radix, length))
            {
                continue;
            }

            ushort[] plaintext = RandomNumerals(random, radix, length);
            ushort[] ciphertext = new ushort[length];
            ushort[] decrypted = new ushort[length];

            ff1.Encrypt(tweak, plaintext, ciphertext);
            ff1.Decrypt(tweak, ciphertext, decrypted);

            Assert.All(ciphertext, n => Assert.True(n < radix));
            Assert.Equal(plaintext, decrypted);
        }
    }

    [Theory]
    [InlineData(2, 20)]
    [InlineData(2, 200)]
    [InlineData(65536, 2)]
    [InlineData(65536, 7)]
    [InlineData(65535, 2)]
    [InlineData(1000, 2)]
    public void EncryptThenDecrypt_ExtremeRadixes_RoundTrips(int radix, int length)
    {
        var random = new Random(length);
        using var ff1 = new Ff1(Key128, radix);
        ushort[] plaintext = RandomNumerals(random, radix, length);
        ushort[] ciphertext = new ushort[length];
        ushort[] decrypted = new ushort[length];

        ff1.Encrypt([], plaintext, ciphertext);
        ff1.Decrypt([], ciphertext, decrypted);

        Assert.Equal(plaintext, decrypted);
    }

    [Fact]
    public void Encrypt_InPlace_MatchesSeparateBuffers()
    {
        using var ff1 = new Ff1(Key128, 10);
        ushort[] plaintext = Ff1TestSupport.ToNumerals("4111111111111111");
        ushort[] expected = new ushort[plaintext.Length];
        ff1.Encrypt([9], plaintext, expected);

        ushort[] buffer = (ushort[])plaintext.Clone();
        ff1.Encrypt([9], buffer, buffer);
        Assert.Equal(expected, buffer);

        ff1.Decrypt([9], buffer, buffer);
        Assert.Equal(plaintext, buffer);
    }

    [Fact]
    public void Encrypt_DifferentTweaks_GiveDifferentCiphertexts()
    {
        using var ff1 = new Ff1(Key128, 10);
        ushort[] plaintext = Ff1TestSupport.ToNumerals("4111111111111111");
        var ciphertexts = new HashSet<string>();
        byte[][] tweaks = [[], [0], [1], [0, 0], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 9], new byte[16], new byte[17], new byte[40]];

        foreach (byte[] tweak in tweaks)
        {
            ushort[] ciphertext = new ushort[plaintext.Length];
            ff1.Encrypt(tweak, plaintext, ciphertext);
            ciphertexts.Add(Ff1TestSupport.ToText(ciphertext));
        }

        Assert.Equal(tweaks.Length, ciphertexts.Count);
    }

    [Fact]
    public void Decrypt_WithWrongTweak_DoesNotRecoverPlaintext()
    {
        using var ff1 = new Ff1(Key128, 10);
        ushort[] plaintext = Ff1TestSupport.ToNumerals("4111111111111111");
        ushort[] ciphertext = new ushort[plaintext.Length];
        ushort[] decrypted = new ushort[plaintext.Length];

        ff1.Encrypt([1, 2, 3], plaintext, ciphertext);
        ff1.Decrypt([1, 2, 4], ciphertext, decrypted);

        Assert.NotEqual(plaintext, decrypted);
    }

    [Fact]
    public void Encrypt_DifferentKeys_GiveDifferentCiphertexts()
    {
        ushort[] plaintext = Ff1TestSupport.ToNumerals("4111111111111111");
        byte[] otherKey = (byte[])Key128.Clone();
        otherKey[^1] ^= 1;
        using var a = new Ff1(Key128, 10);
        using var b = new Ff1(otherKey, 10);
        ushort[] ca = new ushort[16];
        ushort[] cb = new ushort[16];

        a.Encrypt([], plaintext, ca);
        b.Encrypt([], plaintext, cb);

        Assert.NotEqual(ca, cb);
    }

    [Theory]
    [InlineData(10, 6, true)]
    [InlineData(10, 5, false)]
    [InlineData(36, 4, true)]
    [InlineData(36, 3, false)]
    [InlineData(62, 4, true)]
    [InlineData(62, 3, false)]
    [InlineData(2, 20, true)]
    [InlineData(2, 19, false)]
    [InlineData(65536, 2, true)]
    [InlineData(1_000_000, 2, false)]
    [InlineData(65537, 2, false)]
    [InlineData(1, 100, false)]
    [InlineData(10, 1, false)]
    [InlineData(10, 0, false)]
    [InlineData(10, -1, false)]
    public void IsDomainLargeEnough_AppliesTheMillionMinimum(int radix, int length, bool expected)
    {
        Assert.Equal(expected, Ff1.IsDomainLargeEnough(radix, length));
    }

    [Theory]
    [InlineData(10, 5)]
    [InlineData(36, 3)]
    [InlineData(62, 3)]
    [InlineData(65536, 1)]
    [InlineData(10, 0)]
    public void Encrypt_DomainTooSmall_Throws(int radix, int length)
    {
        using var ff1 = new Ff1(Key128, radix);
        ushort[] numerals = new ushort[length];

        Assert.Throws<ArgumentException>(() => ff1.Encrypt([], numerals, new ushort[length]));
        Assert.Throws<ArgumentException>(() => ff1.Decrypt([], numerals, new ushort[length]));
    }

    [Fact]
    public void Encrypt_NumeralNotBelowRadix_Throws()
    {
        using var ff1 = new Ff1(Key128, 10);
        ushort[] numerals = Ff1TestSupport.ToNumerals("4111111111111111");
        numerals[7] = 10;

        Assert.Throws<ArgumentException>(() => ff1.Encrypt([], numerals, new ushort[16]));
    }

    [Fact]
    public void Encrypt_OutputLengthDiffers_Throws()
    {
        using var ff1 = new Ff1(Key128, 10);
        ushort[] numerals = new ushort[16];

        Assert.Throws<ArgumentException>(() => ff1.Encrypt([], numerals, new ushort[15]));
        Assert.Throws<ArgumentException>(() => ff1.Decrypt([], numerals, new ushort[17]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(64)]
    public void Constructor_InvalidKeyLength_Throws(int keyLength)
    {
        Assert.Throws<ArgumentException>(() => new Ff1(new byte[keyLength], 10));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65537)]
    public void Constructor_InvalidRadix_Throws(int radix)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Ff1(Key128, radix));
    }

    [Fact]
    public void Encrypt_AfterDispose_Throws()
    {
        var ff1 = new Ff1(Key128, 10);
        ff1.Dispose();

        Assert.Throws<ObjectDisposedException>(() => ff1.Encrypt([], new ushort[16], new ushort[16]));
    }

    [Fact]
    public void Encrypt_ConcurrentCallers_AllGetTheSameAnswer()
    {
        using var ff1 = new Ff1(Key128, 10);
        ushort[] plaintext = Ff1TestSupport.ToNumerals("4111111111111111");
        ushort[] expected = new ushort[16];
        ff1.Encrypt([], plaintext, expected);

        Parallel.For(0, 10_000, _ =>
        {
            ushort[] ciphertext = new ushort[16];
            ff1.Encrypt([], plaintext, ciphertext);
            Assert.Equal(expected, ciphertext);
        });
    }

    [Theory]
    [InlineData(10, 16)]
    [InlineData(10, 40)]
    [InlineData(62, 24)]
    public void EncryptAndDecrypt_FastPath_AllocateNothing(int radix, int length)
    {
        using var ff1 = new Ff1(Key128, radix);
        ushort[] plaintext = RandomNumerals(new Random(length), radix, length);
        ushort[] ciphertext = new ushort[length];
        byte[] tweak = new byte[20];
        ff1.Encrypt(tweak, plaintext, ciphertext);
        ff1.Decrypt(tweak, ciphertext, plaintext);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            ff1.Encrypt(tweak, plaintext, ciphertext);
            ff1.Decrypt(tweak, ciphertext, plaintext);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static ushort[] RandomNumerals(Random random, int radix, int length)
    {
        ushort[] numerals = new ushort[length];
        for (int i = 0; i < length; i++)
        {
            numerals[i] = (ushort)random.Next(radix);
        }

        return numerals;
    }
}
