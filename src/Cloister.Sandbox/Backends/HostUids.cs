namespace Cloister.Sandbox.Backends;

/// <summary>
/// Hands each bubblewrap sandbox its own host uid (and gid) from a range no host account uses, so that
/// per-uid kernel accounting is per sandbox. RLIMIT_NPROC counts every process of a uid: with one
/// shared uid, a fork bomb held to its own pids cgroup could still use up the count and stop every
/// other sandbox from forking, or from starting (bwrap's clone fails with EAGAIN).
/// </summary>
/// <remarks>
/// The range is <see cref="First"/> .. <see cref="First"/> + <see cref="Count"/> − 1, far above the
/// ranges that distributions, <c>/etc/subuid</c> (from 100000) and systemd (below 0x70000000) hand
/// out. A uid is picked at random among those this process is not using, so two hosts on one
/// machine rarely share one; if they do, the two sandboxes merely share a process count as before.
/// Inside its user namespace the program still sees uid 65534.
/// </remarks>
internal static class HostUids
{
    /// <summary>The first host uid of the range (0x71000000).</summary>
    public const int First = 0x71000000;

    /// <summary>How many host uids the range holds.</summary>
    public const int Count = 1 << 20;

    private static readonly HashSet<int> InUse = [];

    /// <summary>Takes a uid no other sandbox of this process holds; give it back with <see cref="Release"/>.</summary>
    public static int Take()
    {
        lock (InUse)
        {
            while (true)
            {
                var uid = First + Random.Shared.Next(Count);
                if (InUse.Add(uid))
                {
                    return uid;
                }
            }
        }
    }

    /// <summary>Returns a uid once nothing of its sandbox runs any more.</summary>
    public static void Release(int uid)
    {
        lock (InUse)
        {
            InUse.Remove(uid);
        }
    }
}
