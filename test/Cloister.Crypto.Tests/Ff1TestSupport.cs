using System.Text.Json;

namespace Cloister.Crypto.Tests;

public enum Ff1Backend
{
    Default,
    BclAes,
    BigInteger,
    BclAesAndBigInteger,
}

public sealed record Ff1Sample(int Sample, byte[] Key, byte[] Tweak, int Radix, string Plaintext, string Ciphertext);

internal static class Ff1TestSupport
{
    // Digit value = index, as in the NIST samples (radix 62 extends it with upper case).
    public const string Digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    private static readonly Lazy<IReadOnlyList<Ff1Sample>> NistSamples = new(LoadSamples);

    public static IReadOnlyList<Ff1Sample> Samples => NistSamples.Value;

    public static Ff1 Create(ReadOnlySpan<byte> key, int radix, Ff1Backend backend)
    {
        return new Ff1(
            key,
            radix,
            forceBclAes: backend is Ff1Backend.BclAes or Ff1Backend.BclAesAndBigInteger,
            forceBigInteger: backend is Ff1Backend.BigInteger or Ff1Backend.BclAesAndBigInteger);
    }

    public static ushort[] ToNumerals(string text)
    {
        return [.. text.Select(c => (ushort)Digits.IndexOf(c, StringComparison.Ordinal))];
    }

    public static string ToText(ReadOnlySpan<ushort> numerals)
    {
        return string.Concat(numerals.ToArray().Select(n => Digits[n]));
    }

    private static List<Ff1Sample> LoadSamples()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "vectors", "nist-sp800-38g-ff1-samples.json");
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        return [.. document.RootElement.GetProperty("vectors").EnumerateArray().Select(v => new Ff1Sample(
            v.GetProperty("sample").GetInt32(),
            Convert.FromHexString(v.GetProperty("keyHex").GetString()!),
            Convert.FromHexString(v.GetProperty("tweakHex").GetString()!),
            v.GetProperty("radix").GetInt32(),
            v.GetProperty("plaintext").GetString()!,
            v.GetProperty("ciphertext").GetString()!))];
    }
}
