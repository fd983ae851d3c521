using BenchmarkDotNet.Attributes;
using Cloister.Crypto;

namespace Cloister.Benchmarks;

/// <summary>One FF1 encrypt plus decrypt of a 16-digit radix-10 string (a card number) with an 8-byte tweak.</summary>
[MemoryDiagnoser]
public class Ff1Benchmarks
{
    private static readonly byte[] Key = Convert.FromHexString("2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94");
    private static readonly byte[] Tweak = [0, 0, 0, 0, 0, 0, 0, 42];

    private readonly ushort[] _plaintext = [4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    private readonly ushort[] _ciphertext = new ushort[16];
    private readonly ushort[] _decrypted = new ushort[16];
    private Ff1 _aesNi = null!;
    private Ff1 _bcl = null!;
    private Ff1 _aesNiBigInteger = null!;

    [GlobalSetup]
    public void Setup()
    {
        _aesNi = new Ff1(Key, 10);
        _bcl = new Ff1(Key, 10, forceBclAes: true, forceBigInteger: false);
        _aesNiBigInteger = new Ff1(Key, 10, forceBclAes: false, forceBigInteger: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _aesNi.Dispose();
        _bcl.Dispose();
        _aesNiBigInteger.Dispose();
    }

    [Benchmark(Baseline = true)]
    public ushort EncryptDecrypt_BclAes()
    {
        return RoundTrip(_bcl);
    }

    [Benchmark]
    public ushort EncryptDecrypt_AesNi()
    {
        return RoundTrip(_aesNi);
    }

    [Benchmark]
    public ushort EncryptDecrypt_AesNi_BigInteger()
    {
        return RoundTrip(_aesNiBigInteger);
    }

    private ushort RoundTrip(Ff1 ff1)
    {
        ff1.Encrypt(Tweak, _plaintext, _ciphertext);
        ff1.Decrypt(Tweak, _ciphertext, _decrypted);
        return _decrypted[15];
    }
}
