using Cloister.Attestation.Tdx;

namespace Cloister.Attestation.Tests.Tdx;

/// <summary>Reserved TD attribute bits and the XFAM fixed bits.</summary>
public sealed class DcapTdAttributesTests
{
    [Theory]
    [InlineData(0x0UL, 0xE7UL, CheckStatus.Pass)]
    [InlineData(0x10000001UL, 0x6DBE7UL, CheckStatus.Pass)]
    [InlineData(0x40000000UL, 0xE7UL, CheckStatus.Pass)]
    [InlineData(0x2UL, 0xE7UL, CheckStatus.Fail)]
    [InlineData(0x100000000UL, 0xE7UL, CheckStatus.Fail)]
    [InlineData(0x0UL, 0xE4UL, CheckStatus.Fail)]
    [InlineData(0x0UL, 0x800E7UL, CheckStatus.Fail)]
    public void TdAttributesAndXfam_ReservedOrFixedBits(ulong attributes, ulong xfam, CheckStatus expected)
        => Assert.Equal(expected, DcapAppraiser.CheckTdAttributesAndXfam(attributes, xfam).Status);
}
