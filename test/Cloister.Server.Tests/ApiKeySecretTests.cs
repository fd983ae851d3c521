using Cloister.Server.Auth;

namespace Cloister.Server.Tests;

public sealed class ApiKeySecretTests
{
    [Fact]
    public void Generated_Key_ParsesBackToItsIdAndHash()
    {
        var (id, key, hash) = ApiKeySecret.Generate();
        Assert.StartsWith($"ck_{id}_", key, StringComparison.Ordinal);
        Assert.True(ApiKeySecret.TryParse(key, out var parsedId, out var parsedHash));
        Assert.Equal(id, parsedId);
        Assert.Equal(hash, parsedHash);
    }

    [Fact]
    public void Generated_Keys_AreDistinct()
    {
        var keys = Enumerable.Range(0, 1000).Select(_ => ApiKeySecret.Generate().Key).ToHashSet();
        Assert.Equal(1000, keys.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ck_")]
    [InlineData("Bearer ck_abc")]
    [InlineData("ck_000000000000_00000000000000000000000000000000000000000000")] // '0' is not base58
    [InlineData("xx_aaaaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("ck_aaaaaaaaaaaa-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Malformed_Keys_DoNotParse(string presented)
        => Assert.False(ApiKeySecret.TryParse(presented, out _, out _));

    [Fact]
    public void ChangedSecret_GivesADifferentHash()
    {
        var (_, key, hash) = ApiKeySecret.Generate();
        var last = key[^1] == 'a' ? 'b' : 'a';
        Assert.True(ApiKeySecret.TryParse(key[..^1] + last, out _, out var other));
        Assert.NotEqual(hash, other);
    }
}
