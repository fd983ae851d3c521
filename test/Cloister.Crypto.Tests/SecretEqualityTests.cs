namespace Cloister.Crypto.Tests;

public sealed class SecretEqualityTests
{
    [Fact]
    public void FixedTimeEquals_Bytes_ComparesContentAndLength()
    {
        Assert.True(SecretEquality.FixedTimeEquals([1, 2, 3], [1, 2, 3]));
        Assert.True(SecretEquality.FixedTimeEquals(ReadOnlySpan<byte>.Empty, ReadOnlySpan<byte>.Empty));
        Assert.False(SecretEquality.FixedTimeEquals([1, 2, 3], [1, 2, 4]));
        Assert.False(SecretEquality.FixedTimeEquals([1, 2, 3], [1, 2]));
        Assert.False(SecretEquality.FixedTimeEquals([1, 2, 3], [1, 2, 3, 0]));
    }

    [Fact]
    public void FixedTimeEquals_Chars_IsOrdinal()
    {
        Assert.True(SecretEquality.FixedTimeEquals("ck_live_abc".AsSpan(), "ck_live_abc".AsSpan()));
        Assert.False(SecretEquality.FixedTimeEquals("ck_live_abc".AsSpan(), "ck_live_abC".AsSpan()));
        Assert.False(SecretEquality.FixedTimeEquals("ck_live_abc".AsSpan(), "ck_live_ab".AsSpan()));
        Assert.False(SecretEquality.FixedTimeEquals("\u0100".AsSpan(), "\u0001".AsSpan()));
    }
}
