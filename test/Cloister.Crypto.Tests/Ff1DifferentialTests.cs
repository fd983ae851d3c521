using AesNi = System.Runtime.Intrinsics.X86.Aes;

namespace Cloister.Crypto.Tests;

/// <summary>
/// The fast paths (AES-NI block function, ulong/UInt128 arithmetic) against the reference paths
/// (BCL AES, BigInteger) on random keys, tweaks, radixes and inputs from a fixed seed.
/// </summary>
public sealed class Ff1DifferentialTests
{
    private const int Cases = 3000;

    [Fact]
    public void DefaultBackend_UsesAesNi_WhenTheCpuHasIt()
    {
        using var ff1 = new Ff1(new byte[16], 10);
        using Ff1 bcl = Ff1TestSupport.Create(new byte[16], 10, Ff1Backend.BclAes);

        Assert.Equal(AesNi.IsSupported, ff1.UsesAesNi);
        Assert.False(bcl.UsesAesNi);
    }

    [Theory]
    [InlineData(Ff1Backend.BclAes)]
    [InlineData(Ff1Backend.BigInteger)]
    [InlineData(Ff1Backend.BclAesAndBigInteger)]
    public void DefaultBackend_MatchesReference_OnRandomCases(Ff1Backend reference)
    {
        var random = new Random(20260101 + (int)reference);
        for (int i = 0; i < Cases; i++)
        {
            byte[] key = new byte[16 + (8 * random.Next(3))];
            random.NextBytes(key);
            int radix = PickRadix(random);
            int length = PickLength(random, radix);
            byte[] tweak = new byte[random.Next(4) == 0 ? 0 : random.Next(1, 48)];
            random.NextBytes(tweak);
            ushort[] plaintext = new ushort[length];
            for (int j = 0; j < length; j++)
            {
                plaintext[j] = (ushort)random.Next(radix);
            }

            using var fast = new Ff1(key, radix);
            using Ff1 slow = Ff1TestSupport.Create(key, radix, reference);
            ushort[] fastCiphertext = new ushort[length];
            ushort[] slowCiphertext = new ushort[length];
            ushort[] decrypted = new ushort[length];

            fast.Encrypt(tweak, plaintext, fastCiphertext);
            slow.Encrypt(tweak, plaintext, slowCiphertext);
            Assert.True(fastCiphertext.AsSpan().SequenceEqual(slowCiphertext), $"case {i}: radix {radix}, length {length}, key {key.Length}, tweak {tweak.Length}");

            slow.Decrypt(tweak, fastCiphertext, decrypted);
            Assert.True(plaintext.AsSpan().SequenceEqual(decrypted), $"case {i}: decrypt mismatch");
        }
    }

    private static int PickRadix(Random random)
    {
        return random.Next(6) switch
        {
            0 => 10,
            1 => 36,
            2 => 62,
            3 => random.Next(2, 17),
            4 => random.Next(2, 1000),
            _ => random.Next(2, 65537),
        };
    }

    // Lengths are weighted towards the ulong/UInt128 boundaries (radix^ceil(n/2) near 2^32 and 2^96).
    private static int PickLength(Random random, int radix)
    {
        int bitsPerNumeral = Math.Max(1, (int)Math.Ceiling(Math.Log2(radix)));
        int target = random.Next(3) switch
        {
            0 => 2 * 32 / bitsPerNumeral,
            1 => 2 * 96 / bitsPerNumeral,
            _ => random.Next(2, 60),
        };
        int length = Math.Max(2, target + random.Next(-3, 4));
        while (!Ff1.IsDomainLargeEnough(radix, length))
        {
            length++;
        }

        return length;
    }
}
