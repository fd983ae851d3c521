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

/// <summary>Reserved ("must be zero") SGX REPORT bytes are a parse error, before any signature is checked.</summary>
public sealed class DcapReservedBytesTests
{
    [Theory]
    [InlineData("sgx/dcapqvl_sgx_quote", 48 + 100, "enclave report")]
    [InlineData("sgx/dcapqvl_sgx_quote", 436 + 128 + 270, "QE report")]
    [InlineData("tdx/dcapqvl_tdx_quote", 636 + 134 + 25, "QE report")]
    public void NonZeroReservedByte_IsAStructureFailure(string file, int offset, string where)
    {
        var quote = DcapTestData.Read(file);
        quote[offset] ^= 0x40;
        var tee = file.StartsWith("sgx", StringComparison.Ordinal) ? TeeType.Sgx : TeeType.Tdx;
        IEvidenceVerifier verifier = tee == TeeType.Sgx ? new SgxVerifier() : new TdxVerifier();

        var result = verifier.Verify(new EvidenceBundle(tee, quote, []), DcapTestData.DefaultPolicy, DcapTestData.At("2025-07-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Contains($"reserved bytes of the {where}", Assert.Single(result.Checks).Reason, StringComparison.Ordinal);
    }
}
