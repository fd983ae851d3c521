using Cloister.Attestation.Cbor;

namespace Cloister.Attestation.Tests.Cbor;

public sealed class CborDecoderTests
{
    private static CborValue Decode(string hex)
    {
        Assert.True(CborDecoder.TryDecode(Convert.FromHexString(hex), out var value, out var error), error?.ToString());
        return value!;
    }

    private static CborError Reject(string hex, CborLimits? limits = null)
    {
        Assert.False(CborDecoder.TryDecode(Convert.FromHexString(hex), out var value, out var error, limits));
        Assert.Null(value);
        return error!;
    }

    [Theory]
    [InlineData("00", 0UL)]
    [InlineData("17", 23UL)]
    [InlineData("1818", 24UL)]
    [InlineData("1903e8", 1000UL)]
    [InlineData("1a000f4240", 1000000UL)]
    [InlineData("1bffffffffffffffff", ulong.MaxValue)]
    public void UnsignedInteger_AllArgumentSizes(string hex, ulong expected)
    {
        var value = Decode(hex);
        Assert.Equal(CborKind.UnsignedInteger, value.Kind);
        Assert.Equal(expected, value.Argument);
    }

    [Theory]
    [InlineData("20", -1L)]
    [InlineData("3822", -35L)]
    [InlineData("3903e7", -1000L)]
    [InlineData("3b7fffffffffffffff", long.MinValue)]
    public void NegativeInteger_IsMinusOneMinusArgument(string hex, long expected)
    {
        var value = Decode(hex);
        Assert.Equal(CborKind.NegativeInteger, value.Kind);
        Assert.True(value.TryGetInt64(out var number));
        Assert.Equal(expected, number);
    }

    [Fact]
    public void NegativeInteger_BeyondInt64_IsReadButNotInt64()
    {
        var value = Decode("3bffffffffffffffff");
        Assert.False(value.TryGetInt64(out _));
    }

    [Fact]
    public void ByteString_IsASliceOfTheInput()
    {
        var value = Decode("4401020304");
        Assert.Equal(CborKind.ByteString, value.Kind);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, value.Bytes.ToArray());
        Assert.Equal(0, Decode("40").Bytes.Length);
    }

    [Fact]
    public void TextString_IsUtf8()
    {
        Assert.Equal("IETF", Decode("6449455446").Text);
        Assert.Equal("\u00fc", Decode("62c3bc").Text);
    }

    [Fact]
    public void TextString_InvalidUtf8_IsRejected() => Assert.Equal("invalid-utf8", Reject("62c328").Code);

    [Fact]
    public void Array_AndNestedArrays()
    {
        var value = Decode("8301820203820405");
        Assert.Equal(CborKind.Array, value.Kind);
        Assert.Equal(3, value.Items.Count);
        Assert.Equal(5UL, value.Items[2].Items[1].Argument);
    }

    [Fact]
    public void Map_WithTextAndIntegerKeys()
    {
        var value = Decode("a26161012002");
        Assert.Equal(CborKind.Map, value.Kind);
        Assert.Equal(1UL, value.Get("a")!.Argument);
        Assert.Equal(2UL, value.Get(-1)!.Argument);
        Assert.Null(value.Get("b"));
    }

    [Fact]
    public void Map_DuplicateKey_IsRejected() => Assert.Equal("duplicate-key", Reject("a2616101616102").Code);

    [Fact]
    public void Tag_WrapsItsContent()
    {
        var value = Decode("d28100");
        Assert.Equal(CborKind.Tag, value.Kind);
        Assert.Equal(18UL, value.Argument);
        Assert.Equal(CborKind.Array, value.Content!.Kind);
    }

    [Theory]
    [InlineData("f4", (int)CborKind.Boolean)]
    [InlineData("f5", (int)CborKind.Boolean)]
    [InlineData("f6", (int)CborKind.Null)]
    [InlineData("f7", (int)CborKind.Undefined)]
    [InlineData("f0", (int)CborKind.Simple)]
    [InlineData("f820", (int)CborKind.Simple)]
    [InlineData("f93c00", (int)CborKind.Float)]
    [InlineData("fa47c35000", (int)CborKind.Float)]
    [InlineData("fb3ff199999999999a", (int)CborKind.Float)]
    public void MajorType7_SimpleValuesAndFloats(string hex, int kind) => Assert.Equal((CborKind)kind, Decode(hex).Kind);

    [Fact]
    public void Floats_HaveTheirValues()
    {
        Assert.Equal(1.0, Decode("f93c00").Float);
        Assert.Equal(100000.0, Decode("fa47c35000").Float);
        Assert.Equal(1.1, Decode("fb3ff199999999999a").Float);
    }

    [Theory]
    [InlineData("5f41014102ff")]
    [InlineData("7f6161ff")]
    [InlineData("9f01ff")]
    [InlineData("bf616101ff")]
    [InlineData("ff")]
    public void IndefiniteLength_IsRejected(string hex) => Assert.Equal("indefinite-length", Reject(hex).Code);

    [Theory]
    [InlineData("1c")]
    [InlineData("3d")]
    [InlineData("5e")]
    [InlineData("fc")]
    [InlineData("1f")]
    public void ReservedAdditionalInformation_IsRejected(string hex) => Assert.Contains(Reject(hex).Code, new[] { "reserved", "indefinite-length" });

    [Fact]
    public void TwoByteSimpleBelow32_IsRejected() => Assert.Equal("non-canonical", Reject("f810").Code);

    [Fact]
    public void DepthLimit_IsEnforced()
    {
        // 16 nested arrays around a zero decode with the default limit of 16; 17 do not.
        Assert.True(CborDecoder.TryDecode(Convert.FromHexString(string.Concat(Enumerable.Repeat("81", 15)) + "00"), out _, out _));
        Assert.Equal("depth", Reject(string.Concat(Enumerable.Repeat("81", 16)) + "00").Code);
        Assert.Equal("depth", Reject("818100", new CborLimits(MaxDepth: 2)).Code);
    }

    [Fact]
    public void DeepNesting_OfAMillionLevels_IsRejectedWithoutStackOverflow()
    {
        var bytes = new byte[1_000_000];
        Array.Fill(bytes, (byte)0x81);
        Assert.False(CborDecoder.TryDecode(bytes, out _, out var error));
        Assert.Equal("depth", error!.Code);
    }

    [Fact]
    public void ItemLimit_IsEnforced() => Assert.Equal("too-many-items", Reject("83010203", new CborLimits(MaxItems: 3)).Code);

    [Theory]
    [InlineData("5bffffffffffffffff00")]
    [InlineData("5a7fffffff00")]
    [InlineData("7a7fffffff00")]
    [InlineData("9bffffffffffffffff00")]
    [InlineData("9a7fffffff00")]
    [InlineData("ba7fffffff00")]
    [InlineData("4501020304")]
    public void LengthBeyondInput_IsRejectedWithoutAllocating(string hex)
    {
        var bytes = Convert.FromHexString(hex);
        CborDecoder.TryDecode(bytes, out _, out _);
        var before = GC.GetAllocatedBytesForCurrentThread();

        Assert.False(CborDecoder.TryDecode(bytes, out _, out var error));

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4096);
        Assert.Equal("length-beyond-input", error!.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("18")]
    [InlineData("1901")]
    [InlineData("d2")]
    [InlineData("f9")]
    public void TruncatedInput_IsRejected(string hex) => Assert.Equal("truncated", Reject(hex).Code);

    [Theory]
    [InlineData("82")]
    [InlineData("8201")]
    [InlineData("a101")]
    public void CollectionLongerThanTheRemainingInput_IsRejected(string hex)
        => Assert.Contains(Reject(hex).Code, new[] { "truncated", "length-beyond-input" });

    [Fact]
    public void TrailingBytes_AreRejected() => Assert.Equal("trailing-bytes", Reject("0000").Code);

    [Fact]
    public void RandomInput_NeverThrows()
    {
        var random = new Random(20261122);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            CborDecoder.TryDecode(bytes, out var value, out var error);
            Assert.True((value is null) != (error is null));
        }
    }

    [Fact]
    public void Encoder_WritesShortestHeads()
    {
        Span<byte> buffer = stackalloc byte[9];
        foreach (var (argument, hex) in new[] { (0UL, "40"), (23UL, "57"), (24UL, "5818"), (256UL, "590100"), (65536UL, "5a00010000"), (1UL << 32, "5b0000000100000000") })
        {
            var written = CborEncoder.WriteHead(buffer, 2, argument);
            Assert.Equal(CborEncoder.HeadLength(argument), written);
            Assert.Equal(hex, Convert.ToHexStringLower(buffer[..written]));
        }
    }
}
