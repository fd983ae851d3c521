using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Cloister.IntegrationTests.Support;

/// <summary>Test values: card numbers, SSNs and unique strings.</summary>
public static partial class Values
{
    /// <summary>Whether a digit string passes the Luhn check.</summary>
    public static bool IsLuhnValid(string digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i] - '0';
            if (i % 2 == 1)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
        }

        return sum % 10 == 0;
    }

    /// <summary>Appends the Luhn check digit to <paramref name="body"/>.</summary>
    public static string WithLuhnDigit(string body)
    {
        for (var d = 0; d <= 9; d++)
        {
            var candidate = body + (char)('0' + d);
            if (IsLuhnValid(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Random digits.</summary>
    public static string Digits(int count) => RandomNumberGenerator.GetString("0123456789", count);

    /// <summary>A random Luhn-valid card number of <paramref name="length"/> digits starting with <paramref name="prefix"/>.</summary>
    public static string Card(int length = 16, string prefix = "4")
        => WithLuhnDigit(prefix + Digits(length - prefix.Length - 1));

    /// <summary>A card number that fails the Luhn check (the valid one with its last digit changed).</summary>
    public static string BadCard(int length = 16)
    {
        var good = Card(length);
        var last = (char)('0' + ((good[^1] - '0' + 1) % 10));
        return good[..^1] + last;
    }

    /// <summary>A random SSN-shaped value ###-##-####.</summary>
    public static string Ssn()
    {
        var d = Digits(9);
        return $"{d[..3]}-{d[3..5]}-{d[5..]}";
    }

    /// <summary>A unique printable string.</summary>
    public static string Unique(string prefix = "v") => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>JSON written with single quotes for readability in test data.</summary>
    public static string J(string singleQuoted) => singleQuoted.Replace('\'', '"');

    [GeneratedRegex("^tok_[1-9A-HJ-NP-Za-km-z]{22}$")]
    public static partial Regex RandomToken();
}
