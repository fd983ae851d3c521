using System.Diagnostics;

namespace Cloister.Protocol.Tests;

/// <summary>A process named by pid and start time: alive while it runs, dead after, and never mistaken for a later holder of its pid.</summary>
public sealed class ProcessIdentityTests
{
    [Fact]
    public void ThisProcess_IsAlive_UnderItsOwnStartTimeOnly()
    {
        Assert.True(ProcessIdentity.TryParse(ProcessIdentity.Current, out var pid, out var start, out var rest));

        Assert.Equal(Environment.ProcessId, pid);
        Assert.Equal("", rest);
        Assert.True(ProcessIdentity.IsAlive(pid, start));
        Assert.False(ProcessIdentity.IsAlive(pid, start + 1));
    }

    [Fact]
    public async Task AnExitedProcess_IsNotAlive()
    {
        using var child = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        var start = ProcessIdentity.StartTime(child.Id);
        Assert.NotNull(start);
        Assert.True(ProcessIdentity.IsAlive(child.Id, start.Value));

        child.Kill();
        await child.WaitForExitAsync();

        Assert.False(ProcessIdentity.IsAlive(child.Id, start.Value));
        Assert.Null(ProcessIdentity.StartTime(child.Id));
    }

    [Theory]
    [InlineData("123-456-7", true, 123, 456L, "7")]
    [InlineData("123-456-rs-x-y", true, 123, 456L, "rs-x-y")]
    [InlineData("123-456", true, 123, 456L, "")]
    [InlineData("ring-test-abc", false, 0, 0L, "")]
    [InlineData("123", false, 0, 0L, "")]
    [InlineData("-1-2-3", false, 0, 0L, "")]
    public void TryParse_ReadsPidAndStartTime_AndWhatFollows(string text, bool ok, int pid, long start, string rest)
    {
        Assert.Equal(ok, ProcessIdentity.TryParse(text, out var parsedPid, out var parsedStart, out var parsedRest));
        if (ok)
        {
            Assert.Equal((pid, start, rest), (parsedPid, parsedStart, parsedRest));
        }
    }
}
