namespace Cloister.Enclave;

/// <summary>An fpe alphabet: the characters FF1 permutes, in numeral order. Other characters stay in place.</summary>
internal sealed class FpeAlphabet
{
    public static readonly FpeAlphabet Digits = new(0, "digits", "0123456789");
    public static readonly FpeAlphabet LowerAlnum = new(1, "lower-alnum", "0123456789abcdefghijklmnopqrstuvwxyz");
    public static readonly FpeAlphabet Alnum = new(2, "alnum", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>Every alphabet, at its <see cref="Index"/>.</summary>
    public static readonly FpeAlphabet[] All = [Digits, LowerAlnum, Alnum];

    // Numeral of each ASCII character, -1 outside the alphabet; all alphabets are ASCII.
    private readonly sbyte[] _numerals = new sbyte[128];

    private FpeAlphabet(int index, string name, string characters)
    {
        Index = index;
        Name = name;
        Characters = characters;
        Array.Fill(_numerals, (sbyte)-1);
        for (var i = 0; i < characters.Length; i++)
        {
            _numerals[characters[i]] = (sbyte)i;
        }
    }

    /// <summary>Position in <see cref="All"/>.</summary>
    public int Index { get; }

    public string Name { get; }

    public string Characters { get; }

    public int Radix => Characters.Length;

    /// <summary>The alphabet a request names; null or empty means <see cref="Digits"/>; null for an unknown name.</summary>
    public static FpeAlphabet? Find(string? name) => name switch
    {
        null or "" or "digits" => Digits,
        "lower-alnum" => LowerAlnum,
        "alnum" => Alnum,
        _ => null,
    };

    /// <summary>The numeral of <paramref name="c"/>, or -1 when it is not in the alphabet.</summary>
    public int NumeralOf(char c) => c < 128 ? _numerals[c] : -1;
}
