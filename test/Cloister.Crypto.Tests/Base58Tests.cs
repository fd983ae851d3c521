namespace Cloister.Crypto.Tests;

public sealed class Base58Tests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(22)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(1000)]
    public void RandomString_HasRequestedLengthAndOnlyAlphabetCharacters(int length)
    {
        string value = Base58.RandomString(length);

        Assert.Equal(length, value.Length);
        Assert.True(length == 0 || Base58.IsBase58(value));
    }

    [Fact]
    public void RandomString_NegativeLength_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Base58.RandomString(-1));
    }

    [Fact]
    public void TryMap_AcceptsExactlyFourBytesPerCharacter()
    {
        var counts = new Dictionary<char, int>();
        int rejected = 0;
        for (int b = 0; b < 256; b++)
        {
            if (Base58.TryMap((byte)b, out char c))
            {
                counts[c] = counts.GetValueOrDefault(c) + 1;
            }
            else
            {
                rejected++;
            }
        }

        Assert.Equal(58, counts.Count);
        Assert.All(counts.Values, count => Assert.Equal(4, count));
        Assert.Equal(256 - 232, rejected);
    }

    [Fact]
    public void RandomString_CharacterFrequencies_AreUniform()
    {
        const int PerCharacter = 2000;
        string value = Base58.RandomString(58 * PerCharacter);
        int[] counts = new int[128];
        foreach (char c in value)
        {
            counts[c]++;
        }

        double chiSquare = Base58.Alphabet.Sum(c => Math.Pow(counts[c] - PerCharacter, 2) / PerCharacter);

        // 57 degrees of freedom: mean 57, and P(chi2 > 140) is below 1e-8, so a fair generator never fails this.
        // Modulo bias without rejection (5/256 vs 4/256 for 24 characters) gives a value in the thousands.
        Assert.True(chiSquare < 140, $"chi-square {chiSquare:F1}");
    }

    [Theory]
    [InlineData("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", true)]
    [InlineData("3mJr7AoUXx2Wqd", true)]
    [InlineData("", false)]
    [InlineData("0", false)]
    [InlineData("O", false)]
    [InlineData("I", false)]
    [InlineData("l", false)]
    [InlineData("abc+", false)]
    [InlineData("abc/", false)]
    [InlineData("abc ", false)]
    [InlineData("abcé", false)]
    public void IsBase58_AcceptsOnlyTheBitcoinAlphabet(string value, bool expected)
    {
        Assert.Equal(expected, Base58.IsBase58(value));
    }
}
