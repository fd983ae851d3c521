using Cloister.Protocol;

namespace Cloister.Sandbox.Backends;

/// <summary>
/// Which process a sandbox's host resources (cgroups, runsc bundle and state) belong to. Its <see cref="ProcessIdentity"/> is
/// written into every sandbox id (<c>rs-PID-START-GUID</c>, <c>bw-PID-START-GUID</c>), so that a later process tells a dead
/// owner's leftovers from a live one's — another server, another test run — whatever pids were reused meanwhile; the
/// resources live in memory file systems that a reboot empties.
/// </summary>
internal static class SandboxOwner
{
    /// <summary>A new sandbox id of this process: <paramref name="kind"/> (<c>rs</c>, <c>bw</c>), the owner and a random part.</summary>
    public static string NewId(string kind) => $"{kind}-{ProcessIdentity.Current}-{Guid.NewGuid():N}";

    /// <summary>The owner written into <paramref name="id"/>; false for a name that carries none (an older Cloister's, or not a sandbox's).</summary>
    public static bool TryParse(string id, out int pid, out long startTime)
    {
        pid = 0;
        startTime = 0;
        return id.Length > 3
            && id[..3] is "rs-" or "bw-"
            && ProcessIdentity.TryParse(id[3..], out pid, out startTime, out var random)
            && random.Length == 32;
    }
}
