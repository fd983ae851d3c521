using System.Runtime.Intrinsics;

namespace Cloister.Crypto.Tests;

public sealed class AesBlockCipherTests
{
    [Theory]
    [InlineData("000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a")]
    [InlineData("000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191")]
    [InlineData("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8ea2b7ca516745bfeafc49904b496089")]
    public void Encrypt_Fips197AppendixC_GivesPublishedCiphertext(string keyHex, string expectedHex)
    {
        Vector128<byte> plaintext = Vector128.Create(Convert.FromHexString("00112233445566778899aabbccddeeff"));
        foreach (bool forceBcl in new[] { false, true })
        {
            using var cipher = new AesBlockCipher(Convert.FromHexString(keyHex), forceBcl);

            byte[] ciphertext = new byte[16];
            cipher.Encrypt(plaintext).CopyTo(ciphertext);

            Assert.Equal(expectedHex, Convert.ToHexStringLower(ciphertext));
        }
    }

    [Fact]
    public void AesNiKeySchedule_MatchesBcl_OnRandomKeysAndBlocks()
    {
        var random = new Random(197);
        byte[] block = new byte[16];
        for (int i = 0; i < 3000; i++)
        {
            byte[] key = new byte[16 + (8 * (i % 3))];
            random.NextBytes(key);
            random.NextBytes(block);
            using var fast = new AesBlockCipher(key);
            using var reference = new AesBlockCipher(key, forceBcl: true);

            Assert.Equal(reference.Encrypt(Vector128.Create(block)), fast.Encrypt(Vector128.Create(block)));
        }
    }
}
