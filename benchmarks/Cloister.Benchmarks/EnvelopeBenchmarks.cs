using BenchmarkDotNet.Attributes;
using Cloister.Crypto;

namespace Cloister.Benchmarks;

/// <summary>AES-256-GCM envelope seal and open; the static API (AES-GCM set up per call) is the baseline.</summary>
[MemoryDiagnoser]
public class EnvelopeBenchmarks
{
    private static readonly byte[] Key = Convert.FromHexString("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
    private static readonly byte[] AssociatedData = "tenant:42/token:0001"u8.ToArray();

    private byte[] _plaintext = [];
    private byte[] _blob = [];
    private byte[] _sealBuffer = [];
    private byte[] _openBuffer = [];
    private EnvelopeKey _key = null!;

    [Params(16, 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _plaintext = new byte[Size];
        Random.Shared.NextBytes(_plaintext);
        _key = new EnvelopeKey(Key);
        _blob = Envelope.Seal(Key, _plaintext, AssociatedData);
        _sealBuffer = new byte[_blob.Length];
        _openBuffer = new byte[Size];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _key.Dispose();
    }

    [Benchmark(Baseline = true)]
    public byte[] Seal_Static()
    {
        return Envelope.Seal(Key, _plaintext, AssociatedData);
    }

    [Benchmark]
    public byte[]? Open_Static()
    {
        Envelope.TryOpen(Key, _blob, AssociatedData, out byte[]? plaintext);
        return plaintext;
    }

    [Benchmark]
    public int Seal_EnvelopeKey_Span()
    {
        return _key.Seal(_plaintext, AssociatedData, _sealBuffer);
    }

    [Benchmark]
    public int Open_EnvelopeKey_Span()
    {
        _key.TryOpen(_blob, AssociatedData, _openBuffer, out int written);
        return written;
    }
}
