using System.Buffers;
using System.Security.Cryptography;

namespace Cloister.Crypto;

/// <summary>Random strings over the Bitcoin Base58 alphabet (no 0, O, I or l).</summary>
public static class Base58
{
    /// <summary>The 58 characters, in value order.</summary>
    public const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    // 232 = 4 * 58. Bytes at or above it are redrawn; mapping them too would favour the first 24 characters.
    private const int AcceptLimit = 232;

    private static readonly SearchValues<char> AlphabetValues = SearchValues.Create(Alphabet);

    /// <summary>A string of <paramref name="length"/> characters, each uniform over the alphabet and independent.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The length is negative.</exception>
    public static string RandomString(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return string.Create(length, 0, static (chars, _) => FillRandom(chars));
    }

    /// <summary>Fills <paramref name="destination"/> as <see cref="RandomString"/> does, for callers that keep secrets out of strings.</summary>
    public static void FillRandom(Span<char> destination)
    {
        Span<byte> random = stackalloc byte[64];
        int filled = 0;
        while (filled < destination.Length)
        {
            // About 9% of bytes are rejected, so ask for a few more than the characters still missing.
            Span<byte> batch = random[..Math.Min(random.Length, destination.Length - filled + 8)];
            RandomNumberGenerator.Fill(batch);
            foreach (byte value in batch)
            {
                if (TryMap(value, out char c))
                {
                    destination[filled++] = c;
                    if (filled == destination.Length)
                    {
                        break;
                    }
                }
            }
        }

        CryptographicOperations.ZeroMemory(random);
    }

    /// <summary>True when <paramref name="value"/> is non-empty and every character is in the alphabet.</summary>
    public static bool IsBase58(ReadOnlySpan<char> value)
    {
        return !value.IsEmpty && !value.ContainsAnyExcept(AlphabetValues);
    }

    /// <summary>The rejection-sampling step: maps a uniform byte to a uniform character, or rejects it.</summary>
    internal static bool TryMap(byte value, out char c)
    {
        if (value >= AcceptLimit)
        {
            c = default;
            return false;
        }

        c = Alphabet[value % Alphabet.Length];
        return true;
    }
}
