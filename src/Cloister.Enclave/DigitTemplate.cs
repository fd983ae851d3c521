using System.Security.Cryptography;
using Cloister.Protocol;

namespace Cloister.Enclave;

/// <summary>
/// The shape of a digit token (numeric, pan, pan-last4, ssn-last4): the characters it keeps from the
/// value, its separators, the digits drawn fresh, and for card numbers the one digit that makes the
/// token Luhn-valid.
/// </summary>
/// <remarks>
/// The drawn digits, read most significant first, are a number in [0, <see cref="SpaceSize"/>): that is
/// the bijection index → token the small-space scan of <see cref="TokenAttempts"/> walks. The check
/// digit is not drawn (it follows from the others), which is why a 16-digit pan keeping 6+4 digits has
/// 10^5 tokens, not 10^6.
/// </remarks>
internal sealed class DigitTemplate
{
    private const string Digits = "0123456789";

    /// <summary>Longest value the numeric format accepts, in characters.</summary>
    public const int MaxNumericLength = 64;

    // Card numbers are 13-19 digits; this bounds the separators around them.
    private const int MaxCardInputLength = 64;

    private readonly char[] _template;
    private readonly int[] _drawn;
    private readonly int[] _cardDigits;
    private readonly int _checkPosition;
    private readonly string _valueDigits;

    private DigitTemplate(char[] template, int[] drawn, int[] cardDigits, int checkPosition, string valueDigits)
    {
        _template = template;
        _drawn = drawn;
        _cardDigits = cardDigits;
        _checkPosition = checkPosition;
        _valueDigits = valueDigits;
        SpaceSize = TokenAttempts.SpaceSize(10, drawn.Length);
    }

    /// <summary>How many distinct tokens the value has in this format (10^drawn digits, saturating).</summary>
    public long SpaceSize { get; }

    /// <summary>What the token keeps of the value; <c>*</c> where it has a fresh digit.</summary>
    public string Mask => new(_template);

    /// <summary>Parse <paramref name="value"/> for a digit format; an error (never naming the value) when it does not fit.</summary>
    public static EnclaveError? TryCreate(string format, string value, out DigitTemplate? template)
    {
        template = null;
        return format switch
        {
            TokenFormats.Numeric => TryNumeric(value, out template),
            TokenFormats.Pan => TryCard(value, keepFirst: 6, out template),
            TokenFormats.PanLast4 => TryCard(value, keepFirst: 0, out template),
            TokenFormats.SsnLast4 => TrySsn(value, out template),
            _ => new EnclaveError(EnclaveErrorCodes.UnknownFormat, "The format is not one of random, numeric, pan, pan-last4, ssn-last4, fpe."),
        };
    }

    /// <summary>The token for an attempt plan (random or scan; not exhausted).</summary>
    public string Token(AttemptPlan plan)
    {
        Span<char> token = stackalloc char[_template.Length];
        if (plan.Kind == AttemptKind.Scan)
        {
            Fill(token, plan.Index);
            if (MatchesValue(token))
            {
                // The one candidate equal to the value is replaced by the next one (see TokenAttempts).
                Fill(token, (plan.Index + 1) % SpaceSize);
            }

            return new string(token);
        }

        Span<char> digits = stackalloc char[_drawn.Length];
        do
        {
            RandomNumberGenerator.GetItems(Digits, digits);
            _template.CopyTo(token);
            for (var i = 0; i < _drawn.Length; i++)
            {
                token[_drawn[i]] = digits[i];
            }

            FixCheckDigit(token);
        }
        while (MatchesValue(token));

        return new string(token);
    }

    /// <summary>Whether a card number (digits only) passes the Luhn check.</summary>
    public static bool IsLuhnValid(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            sum += LuhnTerm(digits[digits.Length - 1 - i] - '0', doubled: i % 2 == 1);
        }

        return sum % 10 == 0;
    }

    private void Fill(Span<char> token, long index)
    {
        _template.CopyTo(token);
        for (var i = _drawn.Length - 1; i >= 0; i--)
        {
            token[_drawn[i]] = (char)('0' + (int)(index % 10));
            index /= 10;
        }

        FixCheckDigit(token);
    }

    private void FixCheckDigit(Span<char> token)
    {
        if (_checkPosition < 0)
        {
            return;
        }

        var sum = 0;
        var checkDoubled = false;
        for (var i = 0; i < _cardDigits.Length; i++)
        {
            var position = _cardDigits[_cardDigits.Length - 1 - i];
            if (position == _checkPosition)
            {
                checkDoubled = i % 2 == 1;
                continue;
            }

            sum += LuhnTerm(token[position] - '0', doubled: i % 2 == 1);
        }

        for (var digit = 0; digit < 10; digit++)
        {
            if ((sum + LuhnTerm(digit, checkDoubled)) % 10 == 0)
            {
                token[_checkPosition] = (char)('0' + digit);
                return;
            }
        }
    }

    // A token must never equal its value; digits are compared, so an SSN given without dashes is still caught.
    private bool MatchesValue(ReadOnlySpan<char> token)
    {
        var matched = 0;
        foreach (var c in token)
        {
            if (!char.IsAsciiDigit(c))
            {
                continue;
            }

            if (matched == _valueDigits.Length || _valueDigits[matched] != c)
            {
                return false;
            }

            matched++;
        }

        return matched == _valueDigits.Length;
    }

    private static int LuhnTerm(int digit, bool doubled)
        => !doubled ? digit : digit * 2 > 9 ? (digit * 2) - 9 : digit * 2;

    private static EnclaveError? TryNumeric(string value, out DigitTemplate? template)
    {
        template = null;
        // Characters are counted as Unicode scalar values, so "é" or an emoji is one character.
        var length = value.EnumerateRunes().Count();
        if (length is 0 or > MaxNumericLength)
        {
            return new EnclaveError(EnclaveErrorCodes.InvalidValue, $"The numeric format takes 1 to {MaxNumericLength} characters.");
        }

        var drawn = Enumerable.Range(0, length).ToArray();
        template = new DigitTemplate(new string('*', length).ToCharArray(), drawn, [], -1, DigitsOf(value));
        return null;
    }

    private static EnclaveError? TryCard(string value, int keepFirst, out DigitTemplate? template)
    {
        template = null;
        var invalid = new EnclaveError(
            EnclaveErrorCodes.InvalidCardNumber,
            "A card number is 13 to 19 digits (spaces and dashes allowed between them) and passes the Luhn check.");
        if (value.Length > MaxCardInputLength)
        {
            return invalid;
        }

        var positions = new List<int>(19);
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsAsciiDigit(value[i]))
            {
                positions.Add(i);
            }
            else if (value[i] is not (' ' or '-'))
            {
                return invalid;
            }
        }

        var digits = DigitsOf(value);
        if (digits.Length is < 13 or > 19 || !IsLuhnValid(digits))
        {
            return invalid;
        }

        // The token keeps the first keepFirst and the last 4 digits; the digit just before the last 4
        // is the Luhn check digit, and the ones between are drawn.
        var replaced = positions.GetRange(keepFirst, digits.Length - 4 - keepFirst);
        var chars = value.ToCharArray();
        foreach (var position in replaced)
        {
            chars[position] = '*';
        }

        template = new DigitTemplate(chars, replaced.SkipLast(1).ToArray(), positions.ToArray(), replaced[^1], digits);
        return null;
    }

    private static EnclaveError? TrySsn(string value, out DigitTemplate? template)
    {
        template = null;
        var dashed = value.Length == 11 && value[3] == '-' && value[6] == '-';
        var digits = DigitsOf(value);
        if (digits.Length != 9 || (value.Length != 9 && !dashed))
        {
            return new EnclaveError(EnclaveErrorCodes.InvalidValue, "The ssn-last4 format takes 9 digits, as ######### or ###-##-####.");
        }

        template = new DigitTemplate(("***-**-" + digits[5..]).ToCharArray(), [0, 1, 2, 4, 5], [], -1, digits);
        return null;
    }

    private static string DigitsOf(string value) => string.Concat(value.Where(char.IsAsciiDigit));
}
