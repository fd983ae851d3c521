using Cloister.Protocol;

namespace Cloister.Enclave.Tests;

public sealed class FpeTests : IDisposable
{
    private readonly TestVault _vault = new();

    public void Dispose() => _vault.Dispose();

    [Theory]
    [InlineData(null, "4111-1111-1111-1111", "0123456789")]
    [InlineData("digits", "(555) 010-9999", "0123456789")]
    [InlineData("lower-alnum", "john.doe@example.com", "0123456789abcdefghijklmnopqrstuvwxyz")]
    [InlineData("lower-alnum", "abc-abc123", "0123456789abcdefghijklmnopqrstuvwxyz")]
    [InlineData("alnum", "AB12-cd34-EF56", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")]
    public async Task Fpe_KeepsCharactersOutsideTheAlphabetInPlace(string? alphabet, string value, string characters)
    {
        var tenant = await _vault.CreateTenantAsync();

        var result = await _vault.TokenizeAsync(tenant, value, "fpe", alphabet);

        var token = result.Token!;
        Assert.Equal(value.Length, token.Length);
        for (var i = 0; i < value.Length; i++)
        {
            Assert.Equal(characters.Contains(value[i], StringComparison.Ordinal), characters.Contains(token[i], StringComparison.Ordinal));
            if (!characters.Contains(value[i], StringComparison.Ordinal))
            {
                Assert.Equal(value[i], token[i]);
                Assert.Equal(value[i], result.Mask![i]);
            }
            else
            {
                Assert.Equal('*', result.Mask![i]);
            }
        }

        Assert.Null(result.Ciphertext);
        Assert.NotEqual(value, token);
    }

    [Theory]
    [InlineData("digits", "Patient John Smith MRN 12345678")]
    [InlineData("digits", "12/34/567890")]
    [InlineData("lower-alnum", "ABC-abc123")]
    [InlineData("digits", "1234567\n890")]
    public async Task Fpe_RejectsCharactersThatWouldPassThroughAsPlaintext(string alphabet, string value)
    {
        var tenant = await _vault.CreateTenantAsync();

        var result = await _vault.TokenizeAsync(tenant, value, "fpe", alphabet);

        Assert.Null(result.Token);
        Assert.Equal(EnclaveErrorCodes.InvalidValue, result.Error!.Code);
        Assert.DoesNotContain(value, result.Error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fpe_IsDeterministic_EvenOnAnotherEnclaveWorker()
    {
        var tenant = await _vault.CreateTenantAsync();
        var otherWorker = new EnclaveClient(_vault.NewEnclaveTransport(), _vault.WrappedKeys);

        var first = await _vault.TokenizeAsync(tenant, "4111111111111111", "fpe");
        var second = await _vault.TokenizeAsync(tenant, "4111111111111111", "fpe");
        var third = Assert.Single((await otherWorker.SendAsync<TokenizeResponse>(
            new TokenizeRequest(1, [new TokenizeItem("4111111111111111", "fpe", null, "card", false)]) { TenantId = tenant },
            CancellationToken.None)).Results);

        Assert.Equal(first.Token, second.Token);
        Assert.Equal(first.Token, third.Token);
    }

    [Fact]
    public async Task Fpe_DiffersBetweenTenants()
    {
        var tenant = await _vault.CreateTenantAsync();
        var other = await _vault.CreateTenantAsync();

        var mine = await _vault.TokenizeAsync(tenant, "4111111111111111", "fpe");
        var theirs = await _vault.TokenizeAsync(other, "4111111111111111", "fpe");

        Assert.NotEqual(mine.Token, theirs.Token);
    }

    [Theory]
    [InlineData("digits", "12345")]
    [InlineData("digits", "12-34-5")]
    [InlineData("digits", "(12) 345")]
    [InlineData("lower-alnum", "abc")]
    [InlineData("alnum", "A1b")]
    public async Task Fpe_RejectsDomainsSmallerThanAMillion(string alphabet, string value)
    {
        var tenant = await _vault.CreateTenantAsync();

        var result = await _vault.TokenizeAsync(tenant, value, "fpe", alphabet);

        Assert.Null(result.Token);
        Assert.Equal(EnclaveErrorCodes.DomainTooSmall, result.Error!.Code);
    }

    [Theory]
    [InlineData("digits", "123456", 1_000_000)]
    [InlineData("lower-alnum", "abcd", 1_679_616)]
    [InlineData("alnum", "Ab1d", 14_776_336)]
    public async Task Fpe_AcceptsTheSmallestDomainsOfAMillionOrMore(string alphabet, string value, long spaceSize)
    {
        var tenant = await _vault.CreateTenantAsync();

        var result = await _vault.TokenizeAsync(tenant, value, "fpe", alphabet);
        var revealed = await _vault.RevealAsync(tenant, TestVault.Stored(result, "fpe", alphabet));

        Assert.Equal(spaceSize, result.SpaceSize);
        Assert.Equal(value, revealed.Value);
    }

    [Fact]
    public async Task Fpe_RetryAfterCollision_IsSpaceExhausted_BecauseTheTokenCannotChange()
    {
        var tenant = await _vault.CreateTenantAsync();

        var result = await _vault.TokenizeAsync(tenant, new TokenizeItem("4111111111111111", "fpe", null, "card", false, Attempt: 1));

        Assert.Equal(EnclaveErrorCodes.SpaceExhausted, result.Error!.Code);
    }

    [Fact]
    public async Task Fpe_RevealWithTheWrongAlphabet_DoesNotReturnTheValue()
    {
        var tenant = await _vault.CreateTenantAsync();
        var result = await _vault.TokenizeAsync(tenant, "abcdef123", "fpe", "lower-alnum");

        var revealed = await _vault.RevealAsync(tenant, new RevealItem(result.Token!, "fpe", "alnum", 1, null));

        Assert.NotEqual("abcdef123", revealed.Value);
    }
}
