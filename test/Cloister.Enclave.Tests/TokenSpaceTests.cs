using System.Security.Cryptography;
using Cloister.Protocol;

namespace Cloister.Enclave.Tests;

public sealed class TokenSpaceTests : IDisposable
{
    private readonly TestVault _vault = new();

    public void Dispose() => _vault.Dispose();

    [Theory]
    [InlineData("42", "numeric", 100)]
    [InlineData("ab", "numeric", 100)]
    [InlineData("4222222222222", "pan", 100)]
    [InlineData("123", "numeric", 1000)]
    public async Task SmallSpace_RouterLoopIssuesEveryTokenButTheValue_ThenReportsExhausted(string value, string format, int spaceSize)
    {
        var tenant = await _vault.CreateTenantAsync();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var valueIsACandidate = value.All(char.IsAsciiDigit);
        var issuable = valueIsACandidate ? spaceSize - 1 : spaceSize;

        for (var i = 0; i < issuable; i++)
        {
            var (token, error) = await RouterLoopAsync(tenant, value, format, taken);

            Assert.Null(error);
            Assert.NotEqual(value, token);
        }

        var (last, lastError) = await RouterLoopAsync(tenant, value, format, taken);

        Assert.Null(last);
        Assert.Equal(EnclaveErrorCodes.SpaceExhausted, lastError!.Code);
        Assert.Equal(issuable, taken.Count);
        Assert.DoesNotContain(value, taken);
    }

    [Fact]
    public async Task LargeSpace_IsReportedExhaustedAfter64Attempts()
    {
        var tenant = await _vault.CreateTenantAsync();

        var attempt63 = await _vault.TokenizeAsync(tenant, new TokenizeItem("12345", "numeric", null, "default", false, Attempt: 63));
        var attempt64 = await _vault.TokenizeAsync(tenant, new TokenizeItem("12345", "numeric", null, "default", false, Attempt: 64));

        Assert.Null(attempt63.Error);
        Assert.Equal(EnclaveErrorCodes.SpaceExhausted, attempt64.Error!.Code);
        Assert.Equal(100_000, attempt64.SpaceSize);
    }

    [Fact]
    public void ScanAttempts_VisitEveryIndexOnce_FromAnyStart()
    {
        foreach (var start in new ulong[] { 0, 99, 100, ulong.MaxValue, 12345678901234567890 })
        {
            var indexes = Enumerable.Range(8, 100)
                .Select(attempt => TokenAttempts.Plan(100, attempt, start))
                .ToList();

            Assert.All(indexes, plan => Assert.Equal(AttemptKind.Scan, plan.Kind));
            Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), indexes.Select(plan => plan.Index).Order());
            Assert.Equal(AttemptKind.Exhausted, TokenAttempts.Plan(100, 108, start).Kind);
        }
    }

    [Theory]
    [InlineData(10, 0, 1)]
    [InlineData(10, 6, 1_000_000)]
    [InlineData(10, 18, 1_000_000_000_000_000_000)]
    [InlineData(10, 19, long.MaxValue)]
    [InlineData(62, 10, 839_299_365_868_340_224)]
    [InlineData(62, 11, long.MaxValue)]
    public void SpaceSize_SaturatesAtLongMaxValue(int radix, int positions, long expected)
        => Assert.Equal(expected, TokenAttempts.SpaceSize(radix, positions));

    /// <summary>The router's documented loop for one item: fixed ScanStart, Attempt + 1 while the token is taken.</summary>
    private async Task<(string? Token, EnclaveError? Error)> RouterLoopAsync(string tenant, string value, string format, HashSet<string> taken)
    {
        var scanStart = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        for (var attempt = 0; ; attempt++)
        {
            var result = await _vault.TokenizeAsync(tenant, new TokenizeItem(value, format, null, "default", false, attempt, scanStart));
            if (result.Error is not null)
            {
                return (null, result.Error);
            }

            if (taken.Add(result.Token!))
            {
                return (result.Token, null);
            }
        }
    }
}
