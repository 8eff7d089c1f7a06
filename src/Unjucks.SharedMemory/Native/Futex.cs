// futex(2) wait and wake on 32-bit words inside the shared mapping.
//
// Reference: futex(2) and Ulrich Drepper, "Futexes Are Tricky" (2011). The calls deliberately do NOT use
// FUTEX_PRIVATE_FLAG: the words live in a MAP_SHARED file mapping and waiters sit in other processes, so the
// kernel must key the wait queue on (inode, offset) rather than on this process's address space.
//
// Contract: Wait returns when the word no longer holds `expected` (EAGAIN), when woken, when the timeout
// elapses (ETIMEDOUT) or when a signal interrupts (EINTR). All four are "go and re-check the condition"; the
// callers loop and never trust a wake-up on its own (spurious wake-ups are allowed by the kernel).
using System.Runtime.InteropServices;

namespace Unjucks.SharedMemory.Native;

internal static unsafe class Futex
{
    private const int FutexWait = 0;
    private const int FutexWake = 1;
    private const int FutexPrivateFlag = 128;

    private static readonly long SysFutex = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 => 98,
        _ => throw new PlatformNotSupportedException(
            $"futex syscall number unknown for {RuntimeInformation.ProcessArchitecture}; only x86_64 and arm64 Linux are supported."),
    };

    /// <summary>Outcome of one wait.</summary>
    internal enum WaitResult
    {
        /// <summary>Woken, or the word already differed from the expected value (EAGAIN), or EINTR.</summary>
        WokenOrChanged,

        /// <summary>The relative timeout elapsed.</summary>
        TimedOut,
    }

    /// <summary>Sleeps while <c>*word == expected</c>, at most <paramref name="timeout"/>.</summary>
    /// <param name="word">A 4-byte aligned word inside the live mapping (caller's SAFETY obligation).</param>
    /// <param name="expected">Sleep only while the word still holds this value.</param>
    /// <param name="timeout">Relative timeout; the call returns TimedOut at once if it is not positive.</param>
    internal static WaitResult Wait(int* word, int expected, TimeSpan timeout) => Wait(word, FutexWait, expected, timeout);

    /// <summary><see cref="Wait(int*, int, TimeSpan)"/> on a word only this process wakes (FUTEX_PRIVATE_FLAG).</summary>
    internal static WaitResult WaitPrivate(int* word, int expected, TimeSpan timeout) =>
        Wait(word, FutexWait | FutexPrivateFlag, expected, timeout);

    /// <summary>Wakes up to <paramref name="count"/> threads of this process parked on the private <paramref name="word"/>.</summary>
    internal static void WakePrivate(int* word, int count) => Wake(word, FutexWake | FutexPrivateFlag, count);

    private static WaitResult Wait(int* word, int op, int expected, TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return WaitResult.TimedOut;
        }

        long ticks = timeout.Ticks;
        var ts = new Timespec
        {
            Seconds = ticks / TimeSpan.TicksPerSecond,
            Nanoseconds = ticks % TimeSpan.TicksPerSecond * 100,
        };

        // SAFETY: `word` points into the mapping that the caller keeps alive for the duration of the call; the
        // kernel only reads it (compare with `expected`) and `ts` lives on this stack frame.
        long rc = LibC.Syscall6(SysFutex, word, op, expected, &ts, null, 0);
        if (rc == 0)
        {
            return WaitResult.WokenOrChanged;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            LibC.ETIMEDOUT => WaitResult.TimedOut,
            LibC.EAGAIN or LibC.EINTR => WaitResult.WokenOrChanged,
            _ => throw new InvalidOperationException($"futex(FUTEX_WAIT) failed with errno {errno}."),
        };
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters parked on <paramref name="word"/>, in any process.</summary>
    internal static void Wake(int* word, int count) => Wake(word, FutexWake, count);

    private static void Wake(int* word, int op, int count)
    {
        // SAFETY: `word` points into the live mapping (caller's obligation); FUTEX_WAKE does not access it
        // beyond hashing its (inode, offset) key.
        long rc = LibC.Syscall6(SysFutex, word, op, count, null, null, 0);
        if (rc < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException($"futex(FUTEX_WAKE) failed with errno {errno}.");
        }
    }
}
