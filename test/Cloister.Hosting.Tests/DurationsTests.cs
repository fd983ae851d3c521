using Cloister.Hosting.CommandLine;

namespace Cloister.Hosting.Tests;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 30 * 60)]
    [InlineData("24h", 24 * 3600)]
    [InlineData("7d", 7 * 86400)]
    [InlineData("1000000s", 1_000_000)]
    public void Parse_ReadsANumberAndAUnit(string text, long seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Durations.Parse(text, "--x"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("0s")]
    [InlineData("-5s")]
    [InlineData("+5s")]
    [InlineData("5")]
    [InlineData("5w")]
    [InlineData("1.5h")]
    [InlineData(" 5s")]
    [InlineData("1000001s")]
    [InlineData("99999999999999999999d")]
    public void Parse_RefusesWithTheOptionsName(string text)
    {
        var error = Assert.Throws<CliException>(() => Durations.Parse(text, "--warm-idle"));

        Assert.Equal(2, error.ExitCode);
        Assert.StartsWith("--warm-idle must be", error.Message, StringComparison.Ordinal);
    }
}
