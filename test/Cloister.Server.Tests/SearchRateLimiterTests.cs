using Cloister.Server.Auth;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Server.Tests;

public sealed class SearchRateLimiterTests
{
    [Fact]
    public void Key_BurstsAMinutesAllowance_ThenOnePerInterval()
    {
        var clock = new FakeTimeProvider();
        var limiter = new SearchRateLimiter(Options.Create(new ServerOptions { SearchRequestsPerMinute = 6 }), clock);

        for (var i = 0; i < 6; i++)
        {
            Assert.True(limiter.TryAcquire("key_a", out _));
        }

        Assert.False(limiter.TryAcquire("key_a", out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(10), retryAfter);

        clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(limiter.TryAcquire("key_a", out retryAfter));
        Assert.InRange(retryAfter, TimeSpan.FromMilliseconds(99), TimeSpan.FromMilliseconds(101));

        clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(limiter.TryAcquire("key_a", out _));
        Assert.False(limiter.TryAcquire("key_a", out _));
    }

    [Fact]
    public void Keys_HaveTheirOwnAllowance_AndIdleTimeRefillsOnlyUpToOneMinutesWorth()
    {
        var clock = new FakeTimeProvider();
        var limiter = new SearchRateLimiter(Options.Create(new ServerOptions { SearchRequestsPerMinute = 2 }), clock);

        Assert.True(limiter.TryAcquire("key_a", out _));
        Assert.True(limiter.TryAcquire("key_a", out _));
        Assert.False(limiter.TryAcquire("key_a", out _));
        Assert.True(limiter.TryAcquire("key_b", out _));

        clock.Advance(TimeSpan.FromHours(1));
        Assert.True(limiter.TryAcquire("key_a", out _));
        Assert.True(limiter.TryAcquire("key_a", out _));
        Assert.False(limiter.TryAcquire("key_a", out _));
    }
}
