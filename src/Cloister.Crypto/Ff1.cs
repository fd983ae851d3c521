using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace Cloister.Crypto;

/// <summary>
/// FF1 format-preserving encryption (NIST SP 800-38G, revision 1 domain rules) over AES-128, -192 or -256.
/// </summary>
/// <remarks>
/// <para>
/// Numerals are digit values <c>0..radix-1</c>, most significant first; mapping characters to numerals is
/// the caller's business. The domain <c>radix^length</c> must be at least 1,000,000, as the standard requires.
/// </para>
/// <para>
/// Ownership: the instance keeps an expanded AES key schedule (or a BCL <c>Aes</c> holding the key) until
/// <see cref="Dispose"/>, which zeroes it. <see cref="Encrypt"/> and <see cref="Decrypt"/> are safe to call
/// concurrently; <see cref="Dispose"/> must not race with them.
/// </para>
/// <para>
/// Strings whose half length satisfies <c>radix^ceil(n/2) &lt;= 2^96</c> (radix 10 up to 56 digits, radix 62 up
/// to 32) are computed in <see cref="ulong"/>/<see cref="UInt128"/> on the stack and allocate nothing; longer
/// strings use <see cref="BigInteger"/>, whose intermediate values stay in the managed heap until collected.
/// The numeral arithmetic (division by the radix) is not constant-time, as in other FF1 implementations.
/// </para>
/// </remarks>
public sealed partial class Ff1 : IDisposable
{
    private const int Rounds = 10;
    private const int MinDomainSize = 1_000_000;
    private const int MaxRadix = 1 << 16;

    private readonly AesBlockCipher _cipher;
    private readonly int _radix;
    private readonly bool _forceBigInteger;

    // _powers[k] = radix^k for every k with radix^k <= 2^96, the limit of the UInt128 path.
    private readonly UInt128[] _powers;

    // Largest half length whose values stay below 2^32, so that y (d = 8 bytes) fits a ulong.
    private readonly int _maxHalfForUInt64;

    private bool _disposed;

    /// <summary>Creates an FF1 instance for one AES key and radix.</summary>
    /// <param name="key">A 16, 24 or 32 byte AES key; the instance keeps its own copy.</param>
    /// <param name="radix">The alphabet size, 2 to 65536.</param>
    /// <exception cref="ArgumentException">The key length or radix is invalid.</exception>
    public Ff1(ReadOnlySpan<byte> key, int radix)
        : this(key, radix, forceBclAes: false, forceBigInteger: false)
    {
    }

    /// <summary>Test and benchmark hook: forces the BCL AES reference path and/or the BigInteger arithmetic path.</summary>
    internal Ff1(ReadOnlySpan<byte> key, int radix, bool forceBclAes, bool forceBigInteger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(radix, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(radix, MaxRadix);

        _radix = radix;
        _forceBigInteger = forceBigInteger;
        _powers = PowersUpTo(radix, UInt128.One << 96);
        _maxHalfForUInt64 = Array.FindLastIndex(_powers, p => p <= (UInt128.One << 32));
        _cipher = new AesBlockCipher(key, forceBclAes);
    }

    /// <summary>True when the AES block function runs on AES-NI rather than the BCL fallback.</summary>
    internal bool UsesAesNi => _cipher.UsesAesNi;

    /// <summary>
    /// Whether strings of <paramref name="length"/> numerals in <paramref name="radix"/> are a valid FF1 domain:
    /// radix in 2..65536, length at least 2, and radix^length at least 1,000,000.
    /// </summary>
    public static bool IsDomainLargeEnough(int radix, int length)
    {
        if (radix is < 2 or > MaxRadix || length < 2)
        {
            return false;
        }

        long size = 1;
        for (int i = 0; i < length; i++)
        {
            size *= radix;
            if (size >= MinDomainSize)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Encrypts <paramref name="numerals"/> into <paramref name="output"/>, which may be the same memory.</summary>
    /// <exception cref="ArgumentException">Invalid length, domain too small, numeral out of range, or output length differs.</exception>
    /// <exception cref="ObjectDisposedException">The instance was disposed.</exception>
    public void Encrypt(ReadOnlySpan<byte> tweak, ReadOnlySpan<ushort> numerals, Span<ushort> output)
    {
        Transform(tweak, numerals, output, decrypt: false);
    }

    /// <summary>Decrypts <paramref name="numerals"/> into <paramref name="output"/>, which may be the same memory.</summary>
    /// <exception cref="ArgumentException">Invalid length, domain too small, numeral out of range, or output length differs.</exception>
    /// <exception cref="ObjectDisposedException">The instance was disposed.</exception>
    public void Decrypt(ReadOnlySpan<byte> tweak, ReadOnlySpan<ushort> numerals, Span<ushort> output)
    {
        Transform(tweak, numerals, output, decrypt: true);
    }

    /// <summary>Zeroes the key schedule.</summary>
    public void Dispose()
    {
        _disposed = true;
        _cipher.Dispose();
    }

    private void Transform(ReadOnlySpan<byte> tweak, ReadOnlySpan<ushort> numerals, Span<ushort> output, bool decrypt)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validate(numerals, output);

        int v = numerals.Length - (numerals.Length / 2);
        if (_forceBigInteger || v >= _powers.Length)
        {
            TransformBig(tweak, numerals, output, decrypt);
        }
        else if (v <= _maxHalfForUInt64)
        {
            TransformSmall<ulong>(tweak, numerals, output, decrypt);
        }
        else
        {
            TransformSmall<UInt128>(tweak, numerals, output, decrypt);
        }
    }

    private void Validate(ReadOnlySpan<ushort> numerals, Span<ushort> output)
    {
        if (output.Length != numerals.Length)
        {
            throw new ArgumentException("The output must be as long as the input.", nameof(output));
        }

        if (!IsDomainLargeEnough(_radix, numerals.Length))
        {
            throw new ArgumentException(
                $"FF1 needs at least 2 numerals and radix^length >= {MinDomainSize}; radix {_radix} with {numerals.Length} numerals is too small.",
                nameof(numerals));
        }

        // The message deliberately does not say which numeral: the input may be a secret.
        if (_radix < MaxRadix && numerals.ContainsAnyInRange((ushort)_radix, ushort.MaxValue))
        {
            throw new ArgumentException($"Every numeral must be below the radix ({_radix}).", nameof(numerals));
        }
    }

    /// <summary>
    /// FF1 steps 1-6 with every NUM/STR value held in <typeparamref name="T"/> (ulong or UInt128).
    /// The caller guarantees radix^v fits, and that y (d bytes) fits: d = 8 for ulong, d &lt;= 16 for UInt128.
    /// </summary>
    private void TransformSmall<T>(ReadOnlySpan<byte> tweak, ReadOnlySpan<ushort> input, Span<ushort> output, bool decrypt)
        where T : unmanaged, IBinaryInteger<T>, IUnsignedNumber<T>
    {
        int n = input.Length;
        int u = n / 2;
        int v = n - u;
        int b = ByteLength(_powers[v]);
        int d = (4 * ((b + 3) / 4)) + 4;
        T radix = T.CreateTruncating(_radix);
        T modU = T.CreateTruncating(_powers[u]);
        T modV = T.CreateTruncating(_powers[v]);

        // With b <= 12 the varying part of Q ([i] || NUM(B)) and its constant lead-in fill exactly one block.
        Span<byte> tail = stackalloc byte[16];
        Vector128<byte> prefix = AbsorbConstantPrefix(tweak, n, u, b, tail);
        Vector128<byte> lastBlockTemplate = Vector128.Create((ReadOnlySpan<byte>)tail);
        int roundIndexPosition = 15 - b;
        int yShift = 128 - (8 * d);

        T a = Num(input[..u], radix);
        T bValue = Num(input[u..], radix);
        if (!decrypt)
        {
            for (int i = 0; i < Rounds; i++)
            {
                T y = RoundValue(prefix, lastBlockTemplate.WithElement(roundIndexPosition, (byte)i), bValue, yShift);
                T modulus = (i & 1) == 0 ? modU : modV;
                T c = a + (y % modulus);
                if (c >= modulus)
                {
                    c -= modulus;
                }

                a = bValue;
                bValue = c;
            }
        }
        else
        {
            for (int i = Rounds - 1; i >= 0; i--)
            {
                T y = RoundValue(prefix, lastBlockTemplate.WithElement(roundIndexPosition, (byte)i), a, yShift);
                T modulus = (i & 1) == 0 ? modU : modV;
                T yMod = y % modulus;
                T c = bValue >= yMod ? bValue - yMod : bValue + (modulus - yMod);
                bValue = a;
                a = c;
            }
        }

        Str(a, radix, output[..u]);
        Str(bValue, radix, output[u..]);
    }

    /// <summary>Steps 6.i-6.iv for d &lt;= 16: R = PRF(P || Q) from the cached prefix state, y = NUM(first d bytes of R).</summary>
    private T RoundValue<T>(Vector128<byte> prefix, Vector128<byte> lastBlockTemplate, T value, int yShift)
        where T : unmanaged, IBinaryInteger<T>, IUnsignedNumber<T>
    {
        // NUM(B) big-endian occupies the last b bytes; the template is zero there.
        UInt128 numBigEndian = BinaryPrimitives.ReverseEndianness(UInt128.CreateTruncating(value));
        Vector128<byte> block = lastBlockTemplate ^ Vector128.Create((ulong)numBigEndian, (ulong)(numBigEndian >> 64)).AsByte();
        Vector128<ulong> r = _cipher.Encrypt(prefix ^ block).AsUInt64();
        UInt128 rBigEndian = BinaryPrimitives.ReverseEndianness(new UInt128(r.GetElement(1), r.GetElement(0)));
        return T.CreateTruncating(rBigEndian >> yShift);
    }

    /// <summary>
    /// Runs the CBC-MAC over P and every whole block of T || 0^pad, which are the same in all ten rounds, and writes
    /// the remaining constant bytes of Q to the start of <paramref name="tail"/> (the rest is cleared).
    /// </summary>
    private Vector128<byte> AbsorbConstantPrefix(ReadOnlySpan<byte> tweak, int n, int u, int b, Span<byte> tail)
    {
        Span<byte> block = stackalloc byte[16];
        block[0] = 1;
        block[1] = 2;
        block[2] = 1;
        block[3] = (byte)(_radix >> 16);
        block[4] = (byte)(_radix >> 8);
        block[5] = (byte)_radix;
        block[6] = Rounds;
        block[7] = (byte)u;
        BinaryPrimitives.WriteUInt32BigEndian(block[8..], (uint)n);
        BinaryPrimitives.WriteUInt32BigEndian(block[12..], (uint)tweak.Length);
        Vector128<byte> state = _cipher.Encrypt(Vector128.Create((ReadOnlySpan<byte>)block));

        int pad = (int)((16 - ((tweak.Length + (long)b + 1) % 16)) % 16);
        long constantLength = tweak.Length + (long)pad;
        long wholeLength = constantLength - (constantLength % 16);
        for (long offset = 0; offset < wholeLength; offset += 16)
        {
            CopyTweakSlice(tweak, offset, block);
            state = _cipher.Encrypt(state ^ Vector128.Create((ReadOnlySpan<byte>)block));
        }

        CopyTweakSlice(tweak, wholeLength, tail);
        tail[(int)(constantLength - wholeLength)..].Clear();
        return state;
    }

    /// <summary>Copies the bytes of T || 0^pad starting at <paramref name="offset"/> into all of <paramref name="destination"/>.</summary>
    private static void CopyTweakSlice(ReadOnlySpan<byte> tweak, long offset, Span<byte> destination)
    {
        destination.Clear();
        if (offset < tweak.Length)
        {
            ReadOnlySpan<byte> source = tweak[(int)offset..];
            source[..Math.Min(source.Length, destination.Length)].CopyTo(destination);
        }
    }

    private static T Num<T>(ReadOnlySpan<ushort> numerals, T radix)
        where T : IBinaryInteger<T>
    {
        T value = T.Zero;
        foreach (ushort numeral in numerals)
        {
            value = (value * radix) + T.CreateTruncating(numeral);
        }

        return value;
    }

    private static void Str<T>(T value, T radix, Span<ushort> output)
        where T : IBinaryInteger<T>
    {
        for (int i = output.Length - 1; i >= 0; i--)
        {
            (value, T digit) = T.DivRem(value, radix);
            output[i] = ushort.CreateTruncating(digit);
        }
    }

    /// <summary>b = ceil(ceil(v * log2(radix)) / 8), computed exactly as the byte length of radix^v - 1.</summary>
    private static int ByteLength(UInt128 power)
    {
        int bits = 128 - (int)UInt128.LeadingZeroCount(power - 1);
        return (bits + 7) / 8;
    }

    private static UInt128[] PowersUpTo(int radix, UInt128 limit)
    {
        var powers = new List<UInt128> { UInt128.One };
        while (powers[^1] <= limit / (uint)radix)
        {
            powers.Add(powers[^1] * (uint)radix);
        }

        return [.. powers];
    }
}
