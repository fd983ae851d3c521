using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using AesNi = System.Runtime.Intrinsics.X86.Aes;
using BclAes = System.Security.Cryptography.Aes;

namespace Cloister.Crypto;

/// <summary>The raw AES block function (FIPS 197) for modes the BCL does not offer, such as FF1's CBC-MAC.</summary>
/// <remarks>
/// With AES-NI the key schedule is expanded here into a pinned array (so the GC never leaves copies of
/// it behind when compacting) and each block costs one call chain of <c>AESENC</c>. Without AES-NI, or when
/// <c>forceBcl</c> is set so tests can compare the two, every block goes through
/// <see cref="SymmetricAlgorithm.EncryptEcb(ReadOnlySpan{byte}, PaddingMode)"/>, which is the reference.
/// <see cref="Encrypt"/> is safe for concurrent callers; <see cref="Dispose"/> zeroes the key schedule and
/// must not race with it.
/// </remarks>
internal sealed class AesBlockCipher : IDisposable
{
    private readonly Vector128<byte>[]? _roundKeys;
    private readonly BclAes? _bcl;

    // SymmetricAlgorithm instances are not documented as thread-safe, so the fallback serialises calls.
    private readonly Lock _bclLock = new();

    public AesBlockCipher(ReadOnlySpan<byte> key, bool forceBcl = false)
    {
        if (key.Length is not (16 or 24 or 32))
        {
            throw new ArgumentException("An AES key is 16, 24 or 32 bytes.", nameof(key));
        }

        if (AesNi.IsSupported && !forceBcl)
        {
            int rounds = (key.Length / 4) + 6;
            _roundKeys = GC.AllocateArray<Vector128<byte>>(rounds + 1, pinned: true);
            ExpandKey(key, MemoryMarshal.Cast<Vector128<byte>, uint>(_roundKeys.AsSpan()));
        }
        else
        {
            _bcl = BclAes.Create();
            _bcl.SetKey(key);
        }
    }

    public bool UsesAesNi => _roundKeys is not null;

    public Vector128<byte> Encrypt(Vector128<byte> block)
    {
        return _roundKeys is { } roundKeys ? EncryptAesNi(block, roundKeys) : EncryptBcl(block);
    }

    public void Dispose()
    {
        if (_roundKeys is not null)
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(_roundKeys.AsSpan()));
        }

        // SymmetricAlgorithm.Dispose zeroes its copy of the key.
        _bcl?.Dispose();
    }

    private static Vector128<byte> EncryptAesNi(Vector128<byte> block, ReadOnlySpan<Vector128<byte>> roundKeys)
    {
        Vector128<byte> state = block ^ roundKeys[0];
        int last = roundKeys.Length - 1;
        for (int round = 1; round < last; round++)
        {
            state = AesNi.Encrypt(state, roundKeys[round]);
        }

        return AesNi.EncryptLast(state, roundKeys[last]);
    }

    private Vector128<byte> EncryptBcl(Vector128<byte> block)
    {
        Span<byte> input = stackalloc byte[16];
        Span<byte> output = stackalloc byte[16];
        block.CopyTo(input);
        lock (_bclLock)
        {
            _bcl!.EncryptEcb(input, output, PaddingMode.None);
        }

        return Vector128.Create((ReadOnlySpan<byte>)output);
    }

    /// <summary>FIPS 197 §5.2 key expansion into words stored in memory byte order, i.e. directly loadable round keys.</summary>
    private static void ExpandKey(ReadOnlySpan<byte> key, Span<uint> words)
    {
        int nk = key.Length / 4;
        for (int i = 0; i < nk; i++)
        {
            words[i] = BinaryPrimitives.ReadUInt32LittleEndian(key[(4 * i)..]);
        }

        uint rcon = 1;
        for (int i = nk; i < words.Length; i++)
        {
            uint temp = words[i - 1];
            if (i % nk == 0)
            {
                // RotWord moves byte 0 to byte 3: in a little-endian word that is a right rotation by 8.
                temp = SubWord(BitOperations.RotateRight(temp, 8)) ^ rcon;
                rcon = (rcon << 1) ^ ((rcon & 0x80) != 0 ? 0x11Bu : 0u);
            }
            else if (nk > 6 && i % nk == 4)
            {
                temp = SubWord(temp);
            }

            words[i] = words[i - nk] ^ temp;
        }
    }

    /// <summary>Applies the AES S-box to each byte; AESKEYGENASSIST puts SubWord(lane 1) in lane 0.</summary>
    private static uint SubWord(uint word)
    {
        return AesNi.KeygenAssist(Vector128.Create(0u, word, 0u, 0u).AsByte(), 0).AsUInt32().ToScalar();
    }
}
