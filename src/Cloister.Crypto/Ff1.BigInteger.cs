using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace Cloister.Crypto;

// The general FF1 path for strings too long for UInt128, and the reference the fast path is tested against.
public sealed partial class Ff1
{
    private void TransformBig(ReadOnlySpan<byte> tweak, ReadOnlySpan<ushort> input, Span<ushort> output, bool decrypt)
    {
        int n = input.Length;
        int u = n / 2;
        int v = n - u;
        BigInteger modU = BigInteger.Pow(_radix, u);
        BigInteger modV = BigInteger.Pow(_radix, v);
        int b = checked((int)(((modV - 1).GetBitLength() + 7) / 8));
        int d = (4 * ((b + 3) / 4)) + 4;

        // Q ends with [i] || NUM(B) in b bytes, preceded by enough constant bytes to complete a block.
        int tailLength = (15 - (b % 16)) + 1 + b;
        int sLength = (d + 15) / 16 * 16;
        byte[] tailBuffer = ArrayPool<byte>.Shared.Rent(tailLength);
        byte[] sBuffer = ArrayPool<byte>.Shared.Rent(sLength);
        try
        {
            Span<byte> tail = tailBuffer.AsSpan(0, tailLength);
            Span<byte> s = sBuffer.AsSpan(0, sLength);
            Vector128<byte> prefix = AbsorbConstantPrefix(tweak, n, u, b, tail);

            BigInteger a = NumBig(input[..u]);
            BigInteger bValue = NumBig(input[u..]);
            if (!decrypt)
            {
                for (int i = 0; i < Rounds; i++)
                {
                    BigInteger y = RoundValueBig(prefix, tail, i, bValue, b, s, d);
                    BigInteger c = (a + y) % ((i & 1) == 0 ? modU : modV);
                    a = bValue;
                    bValue = c;
                }
            }
            else
            {
                for (int i = Rounds - 1; i >= 0; i--)
                {
                    BigInteger modulus = (i & 1) == 0 ? modU : modV;
                    BigInteger y = RoundValueBig(prefix, tail, i, a, b, s, d);
                    BigInteger c = (bValue - y) % modulus;
                    if (c.Sign < 0)
                    {
                        c += modulus;
                    }

                    bValue = a;
                    a = c;
                }
            }

            StrBig(a, output[..u]);
            StrBig(bValue, output[u..]);
        }
        finally
        {
            // The buffers held NUM(B) and PRF outputs, which are derived from the plaintext.
            ArrayPool<byte>.Shared.Return(tailBuffer, clearArray: true);
            ArrayPool<byte>.Shared.Return(sBuffer, clearArray: true);
        }
    }

    /// <summary>Steps 6.i-6.iv: R = PRF(P || Q), S = R || CIPH(R ^ [1]) || ..., y = NUM(S[..d]).</summary>
    private BigInteger RoundValueBig(Vector128<byte> prefix, Span<byte> tail, int round, BigInteger value, int b, Span<byte> s, int d)
    {
        int numStart = tail.Length - b;
        tail[numStart - 1] = (byte)round;
        Span<byte> numField = tail[numStart..];
        numField.Clear();
        int count = value.GetByteCount(isUnsigned: true);
        value.TryWriteBytes(numField[(b - count)..], out _, isUnsigned: true, isBigEndian: true);

        Vector128<byte> r = prefix;
        for (int offset = 0; offset < tail.Length; offset += 16)
        {
            r = _cipher.Encrypt(r ^ Vector128.Create((ReadOnlySpan<byte>)tail.Slice(offset, 16)));
        }

        r.CopyTo(s);
        for (int j = 1; 16 * j < d; j++)
        {
            Vector128<byte> counter = Vector128.Create(0u, 0u, 0u, BinaryPrimitives.ReverseEndianness((uint)j)).AsByte();
            _cipher.Encrypt(r ^ counter).CopyTo(s[(16 * j)..]);
        }

        return new BigInteger(s[..d], isUnsigned: true, isBigEndian: true);
    }

    /// <summary>NUM_radix in chunks of as many numerals as fit a ulong, to keep BigInteger operations few.</summary>
    private BigInteger NumBig(ReadOnlySpan<ushort> numerals)
    {
        int chunk = MaxDigitsPerUInt64();
        BigInteger value = BigInteger.Zero;
        for (int start = 0; start < numerals.Length; start += chunk)
        {
            ReadOnlySpan<ushort> part = numerals.Slice(start, Math.Min(chunk, numerals.Length - start));
            value = (value * (BigInteger)_powers[part.Length]) + Num(part, (ulong)_radix);
        }

        return value;
    }

    /// <summary>STR^m_radix, peeling off a ulong's worth of numerals per BigInteger division.</summary>
    private void StrBig(BigInteger value, Span<ushort> output)
    {
        int chunk = MaxDigitsPerUInt64();
        for (int end = output.Length; end > 0;)
        {
            int take = Math.Min(chunk, end);
            value = BigInteger.DivRem(value, (BigInteger)_powers[take], out BigInteger remainder);
            Str((ulong)remainder, (ulong)_radix, output[(end - take)..end]);
            end -= take;
        }
    }

    private int MaxDigitsPerUInt64()
    {
        return Array.FindLastIndex(_powers, p => p <= ulong.MaxValue);
    }
}
