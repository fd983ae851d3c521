using System.Buffers.Binary;
using Cloister.Attestation.Tdx;
using static Cloister.Attestation.Tests.Tdx.DcapTestData;

namespace Cloister.Attestation.Tests.Tdx;

/// <summary>Flipped bytes in signed material never verify; hostile input never throws and is rejected quickly.</summary>
public sealed class DcapMutationTests
{
    private const int MutationsPerQuote = 2000;

    public static TheoryData<string, string?, string, TeeType> PositiveQuotes() => new()
    {
        { "tdx/dcapqvl_tdx_quote", "tdx/dcapqvl_tdx_quote_collateral.json", "2025-07-01", TeeType.Tdx },
        { "tdx/gotdxguest_quote_v5_sample.dat", "tdx/dcapqvl_tdx_quote_outdated_collateral.json", "2026-03-01", TeeType.Tdx },
        { "tdx/gotdxguest_tdx_prod_quote_SPR_E4.dat", null, "2024-01-01", TeeType.Tdx },
        { "tdx/gotdxguest_cos-113-tdx-quote.dat", null, "2025-11-01", TeeType.Tdx },
        { "tdx/trustee_tdx_quote_5.dat", null, "2025-11-01", TeeType.Tdx },
        { "tdx/trustee_tdx_quote_6.dat", null, "2025-11-01", TeeType.Tdx },
        { "tdx/trustee_az-tdx-vtpm_td-quote.bin", null, "2025-11-01", TeeType.Tdx },
        { "sgx/dcapqvl_sgx_quote", "sgx/dcapqvl_sgx_quote_collateral.json", "2025-07-01", TeeType.Sgx },
    };

    [Theory]
    [MemberData(nameof(PositiveQuotes))]
    public void FlippedSignedByte_NeverAffirmsOrWarns_NeverThrows(string file, string? collateral, string at, TeeType tee)
    {
        var original = Read(file);
        IEvidenceVerifier verifier = tee == TeeType.Tdx ? new TdxVerifier() : new SgxVerifier();
        var when = At(at);
        IReadOnlyList<byte[]>? items = collateral is null ? null : [Read(collateral)];
        var baseline = verifier.Verify(new EvidenceBundle(tee, original, [], items), DefaultPolicy, when);
        Assert.NotEqual(Verdict.Contraindicated, baseline.Verdict);

        var regions = SignedRegions(original);
        int total = regions.Sum(r => r.Length);
        var random = new Random(20261122);
        for (int i = 0; i < MutationsPerQuote; i++)
        {
            int index = random.Next(total);
            int position = 0;
            foreach (var (start, length) in regions)
            {
                if (index < length)
                {
                    position = start + index;
                    break;
                }

                index -= length;
            }

            var mutated = (byte[])original.Clone();
            mutated[position] ^= (byte)random.Next(1, 256);
            var result = verifier.Verify(new EvidenceBundle(tee, mutated, [], items), DefaultPolicy, when);
            Assert.True(result.Verdict == Verdict.Contraindicated, $"{file} byte {position} flipped: {Describe(result)}");
        }
    }

    [Fact]
    public void EveryPrefixOfAQuote_IsContraindicatedOrTheWholeQuote()
    {
        var original = Read("tdx/dcapqvl_tdx_quote");
        var verifier = new TdxVerifier();
        int signatureEnd = 636 + (int)BinaryPrimitives.ReadUInt32LittleEndian(original.AsSpan(632));
        for (int length = 0; length < signatureEnd; length++)
        {
            var result = verifier.Verify(new EvidenceBundle(TeeType.Tdx, original[..length], []), DefaultPolicy, At("2025-07-01"));
            Assert.Equal(Verdict.Contraindicated, result.Verdict);
            Assert.Equal("quote-structure", Assert.Single(result.Checks).Name);
        }
    }

    [Fact]
    public void EmptyInput_IsContraindicatedWithAParseReason()
    {
        var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, [], []), DefaultPolicy, At("2025-07-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.StartsWith("quote-structure:", Assert.Single(result.Checks).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomInput_IsContraindicated_AlsoBehindAValidHeader()
    {
        var random = new Random(7);
        var header = Read("tdx/dcapqvl_tdx_quote")[..48];
        var sgxHeader = Read("sgx/dcapqvl_sgx_quote")[..48];
        for (int i = 0; i < 3000; i++)
        {
            var bytes = new byte[random.Next(0, 6000)];
            random.NextBytes(bytes);
            var tee = i % 2 == 0 ? TeeType.Tdx : TeeType.Sgx;
            if (i % 3 == 0 && bytes.Length >= 48)
            {
                (tee == TeeType.Tdx ? header : sgxHeader).CopyTo(bytes, 0);
            }

            IEvidenceVerifier verifier = tee == TeeType.Tdx ? new TdxVerifier() : new SgxVerifier();
            var result = verifier.Verify(new EvidenceBundle(tee, bytes, []), DefaultPolicy, At("2025-07-01"));
            Assert.Equal(Verdict.Contraindicated, result.Verdict);
        }
    }

    [Fact]
    public void HundredMegabyteInput_IsRejectedBySize()
    {
        var huge = new byte[100 * 1024 * 1024];
        Read("tdx/dcapqvl_tdx_quote").CopyTo(huge, 0);

        var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, huge, []), DefaultPolicy, At("2025-07-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Contains("limit", Assert.Single(result.Checks).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void HundredMegabyteCollateral_IsRejected()
    {
        var result = new TdxVerifier().Verify(
            new EvidenceBundle(TeeType.Tdx, Read("tdx/dcapqvl_tdx_quote"), [], [new byte[100 * 1024 * 1024]]), DefaultPolicy, At("2025-07-01"));

        Assert.Equal(Verdict.Contraindicated, result.Verdict);
        Assert.Equal(CheckStatus.Fail, CheckOf(result, "collateral").Status);
    }

    [Fact]
    public void RandomAndMalformedCollateral_NeverThrows_AndBrokenCollateralContraindicates()
    {
        var quote = Read("tdx/dcapqvl_tdx_quote");
        var bundle = Read("tdx/dcapqvl_tdx_quote_collateral.json");
        var random = new Random(11);
        var inputs = new List<byte[]> { "{"u8.ToArray(), "[]"u8.ToArray(), "{\"tcbInfo\":1}"u8.ToArray(), "{\"tcb_info\":\"{}\"}"u8.ToArray(), new byte[] { 0x30, 0x82, 0xff }, "-----BEGIN CERTIFICATE-----\nAAAA"u8.ToArray() };
        for (int i = 0; i < 300; i++)
        {
            var mutated = (byte[])bundle.Clone();
            mutated[random.Next(mutated.Length)] ^= (byte)random.Next(1, 256);
            inputs.Add(mutated);
        }

        foreach (var item in inputs)
        {
            var result = new TdxVerifier().Verify(new EvidenceBundle(TeeType.Tdx, quote, [], [item]), DefaultPolicy, At("2025-07-01"));
            // Some flips are harmless (hex case, insignificant whitespace); any that breaks the collateral must contraindicate.
            if (CheckOf(result, "collateral").Status != CheckStatus.Pass)
            {
                Assert.Equal(Verdict.Contraindicated, result.Verdict);
            }
        }
    }

    /// <summary>Header and body (quote signature), attestation key, QE report and its signature, QE auth data.</summary>
    private static List<(int Start, int Length)> SignedRegions(byte[] quote)
    {
        int version = BinaryPrimitives.ReadUInt16LittleEndian(quote);
        int signedLength = version switch
        {
            3 => 432,
            4 => 632,
            _ => 54 + (int)BinaryPrimitives.ReadUInt32LittleEndian(quote.AsSpan(50)),
        };
        int sig = signedLength + 4;
        int qeReport = version == 3 ? sig + 128 : sig + 134;
        int authSize = BinaryPrimitives.ReadUInt16LittleEndian(quote.AsSpan(qeReport + 384 + 64));
        return
        [
            (0, signedLength),
            (sig, 128),
            (qeReport, 384 + 64 + 2 + authSize),
        ];
    }
}
