using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Cloister.Crypto;

namespace Cloister.Enclave;

/// <summary>
/// The <c>fpe</c> format: FF1 (AES-256, the tenant's FF1 key and tweak, <see cref="FpeCiphers"/>) over the value's
/// characters that are in the alphabet; the few <see cref="Separators"/> stay where they are.
/// </summary>
internal static class FpeTokens
{
    /// <summary>Longest fpe value in characters; keeps every buffer on the stack.</summary>
    public const int MaxLength = 256;

    /// <summary>
    /// The only characters outside the alphabet an fpe value may hold. They stay in place in the
    /// token, so they are plaintext in it (and in masks, URLs and the audit log): a short fixed set of
    /// punctuation, never free text, and nothing that needs escaping in a URL path.
    /// </summary>
    public const string Separators = " -.@_+:()";

    /// <summary>Whether every character of <paramref name="value"/> is in the alphabet or is a separator.</summary>
    public static bool HasOnlySeparatorsOutside(FpeAlphabet alphabet, string value)
    {
        foreach (var c in value)
        {
            if (alphabet.NumeralOf(c) < 0 && !Separators.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Encrypt (tokenize) or decrypt (reveal) <paramref name="input"/>. False when it has too few
    /// alphabet characters for FF1 to be secure (radix^n &lt; 1,000,000, NIST SP 800-38G).
    /// </summary>
    /// <remarks><paramref name="spaceSize"/> is radix^n, saturating: how many tokens the value's shape has.</remarks>
    public static bool TryTransform(
        FpeCiphers ciphers,
        FpeAlphabet alphabet,
        string input,
        bool encrypt,
        out string? output,
        out long spaceSize)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(input.Length, MaxLength);
        output = null;
        Span<ushort> numerals = stackalloc ushort[input.Length];
        Span<ushort> transformed = stackalloc ushort[input.Length];
        Span<char> result = stackalloc char[input.Length];
        try
        {
            var n = 0;
            foreach (var c in input)
            {
                var numeral = alphabet.NumeralOf(c);
                if (numeral >= 0)
                {
                    numerals[n++] = (ushort)numeral;
                }
            }

            spaceSize = TokenAttempts.SpaceSize(alphabet.Radix, n);
            if (!Ff1.IsDomainLargeEnough(alphabet.Radix, n))
            {
                return false;
            }

            var ff1 = ciphers.For(alphabet);
            if (encrypt)
            {
                ff1.Encrypt(ciphers.Tweak, numerals[..n], transformed[..n]);
            }
            else
            {
                ff1.Decrypt(ciphers.Tweak, numerals[..n], transformed[..n]);
            }

            var next = 0;
            for (var i = 0; i < input.Length; i++)
            {
                result[i] = alphabet.NumeralOf(input[i]) >= 0 ? alphabet.Characters[transformed[next++]] : input[i];
            }

            output = new string(result);
            return true;
        }
        finally
        {
            // Either side of FF1 is the value.
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(numerals));
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(transformed));
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(result));
        }
    }
}
