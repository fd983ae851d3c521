using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using Cloister.Attestation.Nitro;

namespace Cloister.Attestation.Tests.Nitro;

public sealed class NitroChainCacheTests
{
    private static readonly DateTimeOffset From = new(2022, 10, 13, 8, 57, 59, TimeSpan.Zero);
    private static readonly DateTimeOffset To = new(2022, 10, 13, 11, 58, 2, TimeSpan.Zero);

    private static NitroVerifiedChain Entry() => new(From, To, new NitroLeafKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)));

    [Fact]
    public void Entry_IsValidOnlyInsideItsWindow()
    {
        var entry = Entry();

        Assert.True(entry.IsValidAt(From));
        Assert.True(entry.IsValidAt(To));
        Assert.False(entry.IsValidAt(From.AddTicks(-1)));
        Assert.False(entry.IsValidAt(To.AddTicks(1)));
    }

    [Fact]
    public void Cache_StaysWithinItsCapacity()
    {
        var cache = new NitroChainCache(2);
        for (var i = 0; i < 10; i++)
        {
            cache.Add(i.ToString(System.Globalization.CultureInfo.InvariantCulture), Entry());
            Assert.True(cache.Count <= 2);
        }
    }

    [Fact]
    public void Cache_WithZeroCapacity_KeepsNothing()
    {
        var cache = new NitroChainCache(0);
        cache.Add("a", Entry());

        Assert.Equal(0, cache.Count);
        Assert.False(cache.TryGet("a", out _));
    }

    [Fact]
    public void LeafKey_VerifiesConcurrently()
    {
        using var signer = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var key = new NitroLeafKey(ECDsa.Create(signer.ExportParameters(false)));
        var message = CoseMessage.DecodeSign1(CoseSign1Message.SignEmbedded(new byte[100], new CoseSigner(signer, HashAlgorithmName.SHA384)));
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var forged = CoseMessage.DecodeSign1(CoseSign1Message.SignEmbedded(new byte[100], new CoseSigner(other, HashAlgorithmName.SHA384)));
        var results = new bool[32];

        Parallel.For(0, results.Length, i => results[i] = key.Verify(message));

        Assert.All(results, Assert.True);
        Assert.False(key.Verify(forged));
    }

    [Fact]
    public void Key_IsStableForTheSameCertificates_AndDiffersForOthers()
    {
        var document = NitroDocumentParser.Parse(NitroVectors.Valid).Document!;
        var again = NitroDocumentParser.Parse(NitroVectors.Valid).Document!;
        var other = NitroDocumentParser.Parse(NitroVectors.DebugDoc).Document!;

        Assert.Equal(NitroChainCache.KeyOf(document), NitroChainCache.KeyOf(again));
        Assert.NotEqual(NitroChainCache.KeyOf(document), NitroChainCache.KeyOf(other));
    }
}
