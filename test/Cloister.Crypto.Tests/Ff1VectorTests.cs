namespace Cloister.Crypto.Tests;

public sealed class Ff1VectorTests
{
    public static TheoryData<int, Ff1Backend> SamplesOnEveryBackend()
    {
        var data = new TheoryData<int, Ff1Backend>();
        foreach (Ff1Sample sample in Ff1TestSupport.Samples)
        {
            foreach (Ff1Backend backend in Enum.GetValues<Ff1Backend>())
            {
                data.Add(sample.Sample, backend);
            }
        }

        return data;
    }

    [Fact]
    public void VectorFile_HasTheNineNistSamples()
    {
        Assert.Equal(Enumerable.Range(1, 9), Ff1TestSupport.Samples.Select(s => s.Sample));
    }

    [Theory]
    [MemberData(nameof(SamplesOnEveryBackend))]
    public void Encrypt_NistSample_GivesPublishedCiphertext(int sampleNumber, Ff1Backend backend)
    {
        Ff1Sample sample = Ff1TestSupport.Samples.Single(s => s.Sample == sampleNumber);
        using Ff1 ff1 = Ff1TestSupport.Create(sample.Key, sample.Radix, backend);
        ushort[] output = new ushort[sample.Plaintext.Length];

        ff1.Encrypt(sample.Tweak, Ff1TestSupport.ToNumerals(sample.Plaintext), output);

        Assert.Equal(sample.Ciphertext, Ff1TestSupport.ToText(output));
    }

    [Theory]
    [MemberData(nameof(SamplesOnEveryBackend))]
    public void Decrypt_NistSample_GivesPublishedPlaintext(int sampleNumber, Ff1Backend backend)
    {
        Ff1Sample sample = Ff1TestSupport.Samples.Single(s => s.Sample == sampleNumber);
        using Ff1 ff1 = Ff1TestSupport.Create(sample.Key, sample.Radix, backend);
        ushort[] output = new ushort[sample.Ciphertext.Length];

        ff1.Decrypt(sample.Tweak, Ff1TestSupport.ToNumerals(sample.Ciphertext), output);

        Assert.Equal(sample.Plaintext, Ff1TestSupport.ToText(output));
    }
}
