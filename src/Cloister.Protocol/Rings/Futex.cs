using System.Runtime.InteropServices;

namespace Cloister.Protocol.Rings;

/// <summary>
/// Linux futex on a 32-bit word in shared memory. The PRIVATE flag is deliberately absent: the word lives in a
/// MAP_SHARED file mapping used by two processes, so the kernel must key the wait queue on the file, not the address space.
/// </summary>
internal static unsafe partial class Futex
{
    private const int FutexWait = 0;
    private const int FutexWake = 1;
    private const int EAgain = 11;
    private const int EIntr = 4;
    private const int ETimedOut = 110;

    private static readonly long SysFutex = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 => 98,
        _ => -1,
    };

    /// <summary>Whether this platform has the futex syscall the rings need.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && SysFutex > 0;

    /// <summary>
    /// Sleep while <c>*word == expected</c>, at most <paramref name="timeoutMilliseconds"/>. Returns on a wake-up,
    /// a changed word (EAGAIN), a signal (EINTR) or the timeout: the caller always re-checks its condition.
    /// </summary>
    public static void Wait(int* word, int expected, int timeoutMilliseconds)
    {
        var timeout = new Timespec { Seconds = timeoutMilliseconds / 1000, Nanoseconds = timeoutMilliseconds % 1000 * 1_000_000L };
        if (Syscall(SysFutex, word, FutexWait, expected, &timeout, null, 0) == -1)
        {
            int error = Marshal.GetLastPInvokeError();
            if (error is not (EAgain or EIntr or ETimedOut))
            {
                throw new InvalidOperationException($"futex wait failed (errno {error}).");
            }
        }
    }

    /// <summary>Wake up to <paramref name="count"/> sleepers on <paramref name="word"/>.</summary>
    public static void Wake(int* word, int count) => Syscall(SysFutex, word, FutexWake, count, null, null, 0);

    /// <summary>Whether a process with this id exists (kill(pid, 0): success or EPERM).</summary>
    public static bool ProcessExists(int pid) => Kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() == 1;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int* word, int operation, int value, Timespec* timeout, int* word2, int value3);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
