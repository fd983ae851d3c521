using Cloister.Attestation.Cbor;

namespace Cloister.Attestation.Tests.Cbor;

/// <summary>What attestation CBOR must be: System.Formats.Cbor's Strict mode and the refusals we add on top of it.</summary>
public sealed class StrictCborTests
{
    private static string Refuse(string hex)
    {
        Assert.False(StrictCbor.TryCheck(Convert.FromHexString(hex), out var error));
        return error;
    }

    [Theory]
    [InlineData("00")]
    [InlineData("1bffffffffffffffff")]
    [InlineData("3b7fffffffffffffff")]
    [InlineData("4401020304")]
    [InlineData("62c3bc")]
    [InlineData("8301820203820405")]
    [InlineData("a26161012002")]
    [InlineData("d28100")]
    [InlineData("f820")]
    [InlineData("fb3ff199999999999a")]
    [InlineData("a2616201616101")]
    public void WellFormedDefiniteItems_PassInAnyKeyOrder(string hex)
        => Assert.True(StrictCbor.TryCheck(Convert.FromHexString(hex), out var error), error);

    [Theory]
    [InlineData("5f41014102ff")]
    [InlineData("7f6161ff")]
    [InlineData("9f01ff")]
    [InlineData("bf616101ff")]
    [InlineData("a161619f9f01ffff")]
    public void IndefiniteLength_IsRefused_ThoughStrictModeAdmitsIt(string hex)
        => Assert.StartsWith("indefinite-length", Refuse(hex), StringComparison.Ordinal);

    [Theory]
    [InlineData("a2616101616102")]
    [InlineData("a201010102")]
    [InlineData("a2810100810101")]
    public void DuplicateMapKeys_AreRefused(string hex) => Assert.Contains("duplicate keys", Refuse(hex), StringComparison.Ordinal);

    [Theory]
    [InlineData("62c328")]
    [InlineData("f810")]
    [InlineData("1c")]
    [InlineData("3d")]
    [InlineData("5e")]
    [InlineData("fc")]
    [InlineData("ff")]
    [InlineData("")]
    [InlineData("18")]
    [InlineData("1901")]
    [InlineData("d2")]
    [InlineData("82")]
    [InlineData("8201")]
    [InlineData("a101")]
    public void MalformedOrNonStrictItems_AreRefused(string hex) => Assert.StartsWith("malformed", Refuse(hex), StringComparison.Ordinal);

    [Fact]
    public void TrailingBytes_AreRefused() => Assert.StartsWith("trailing-bytes", Refuse("0000"), StringComparison.Ordinal);

    [Fact]
    public void DepthLimit_IsEnforced()
    {
        Assert.True(StrictCbor.TryCheck(Convert.FromHexString(string.Concat(Enumerable.Repeat("81", StrictCbor.MaxDepth)) + "00"), out _));
        Assert.StartsWith("depth", Refuse(string.Concat(Enumerable.Repeat("81", StrictCbor.MaxDepth + 1)) + "00"), StringComparison.Ordinal);
    }

    [Fact]
    public void DeepNesting_OfAMillionLevels_IsRefusedWithoutStackOverflow()
    {
        var bytes = new byte[1_000_000];
        Array.Fill(bytes, (byte)0x81);
        Assert.False(StrictCbor.TryCheck(bytes, out var error));
        Assert.StartsWith("depth", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("5bffffffffffffffff00")]
    [InlineData("5a7fffffff00")]
    [InlineData("7a7fffffff00")]
    [InlineData("9bffffffffffffffff00")]
    [InlineData("9a7fffffff00")]
    [InlineData("ba7fffffff00")]
    [InlineData("4501020304")]
    public void LengthBeyondInput_IsRefusedWithoutAllocatingIt(string hex)
    {
        var bytes = Convert.FromHexString(hex);
        StrictCbor.TryCheck(bytes, out _);
        var before = GC.GetAllocatedBytesForCurrentThread();

        Assert.False(StrictCbor.TryCheck(bytes, out var error));

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4096);
        Assert.StartsWith("malformed", error, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomInput_NeverThrows()
    {
        var random = new Random(20261122);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            var ok = StrictCbor.TryCheck(bytes, out var error);
            Assert.True(ok == (error is null));
        }
    }
}
