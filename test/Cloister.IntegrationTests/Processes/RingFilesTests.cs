using System.Diagnostics;
using Cloister.Router.Supervision;
using Cloister.Protocol;

namespace Cloister.IntegrationTests.Processes;

/// <summary>The sweep of ring files at serve's start: a dead serve's ring goes, a live one's stays, a reused pid fools nothing.</summary>
public sealed class RingFilesTests
{
    [Fact]
    public async Task SweepStale_DeletesDeadServesRings_EvenWhenTheirPidNowRunsAnotherProcess_AndKeepsALiveOnesRing()
    {
        using var live = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        var liveStart = ProcessIdentity.StartTime(live.Id)!.Value;
        long deadPid;
        long deadStart;
        using (var gone = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            deadPid = gone.Id;
            deadStart = ProcessIdentity.StartTime(gone.Id) ?? 1;
            await gone.WaitForExitAsync();
        }

        var generation = Random.Shared.Next(1_000_000, int.MaxValue);
        string Ring(long pid, long start) => Path.Combine(RingFiles.Directory, $"cloister-{pid}-{start}-{generation}.ring");
        var dead = Ring(deadPid, deadStart);
        var reused = Ring(live.Id, liveStart - 1); // its serve died, and the pid went to the live process
        var alive = Ring(live.Id, liveStart);
        try
        {
            foreach (var ring in new[] { dead, reused, alive })
            {
                await File.WriteAllBytesAsync(ring, []);
            }

            var deleted = RingFiles.SweepStale();

            Assert.Contains(dead, deleted);
            Assert.Contains(reused, deleted);
            Assert.False(File.Exists(dead));
            Assert.False(File.Exists(reused));
            Assert.True(File.Exists(alive));
        }
        finally
        {
            live.Kill();
            foreach (var ring in new[] { dead, reused, alive })
            {
                File.Delete(ring);
            }
        }
    }
}
