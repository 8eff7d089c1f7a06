// futex_waitv(2): one thread sleeps on up to 128 futex words at once and wakes when any of them is woken or no
// longer holds its expected value. Linux 5.16 and later; syscall 449 on x86_64 and on arm64 (asm-generic).
//
// Reference: the kernel's Documentation/userspace-api/futex2.rst and include/uapi/linux/futex.h
// (struct futex_waitv, FUTEX2_SIZE_U32, FUTEX2_PRIVATE, FUTEX_WAITV_MAX). The timeout is ABSOLUTE, on the clock
// passed in the last argument (CLOCK_MONOTONIC here). As for futex(2), every return means "go and re-check": the
// index of a woken word, EAGAIN (some word already differed), ETIMEDOUT or EINTR; the caller re-reads every word.
// The shared-mapping words are waited on WITHOUT FUTEX2_PRIVATE (other processes wake them, the kernel keys them
// on inode and offset); only the waiter thread's own wake word is private.
using System.Runtime.InteropServices;

namespace Unjucks.SharedMemory.Native;

/// <summary>One entry of the futex_waitv vector (24 bytes, the kernel's <c>struct futex_waitv</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FutexWaitvEntry
{
    public ulong Value;
    public ulong Address;
    public uint Flags;
    public uint Reserved;
}

internal static unsafe partial class FutexWaitv
{
    /// <summary>Most words one call waits on (FUTEX_WAITV_MAX).</summary>
    internal const int MaxWords = 128;

    /// <summary>A 32-bit word in a shared mapping.</summary>
    internal const uint SharedU32 = 0x02;

    /// <summary>A 32-bit word only this process wakes (FUTEX2_SIZE_U32 | FUTEX2_PRIVATE).</summary>
    internal const uint PrivateU32 = 0x02 | 0x80;

    private const long SysFutexWaitv = 449; // the same number on x86_64 and arm64
    private const int ClockMonotonic = 1;
    private const int ENOSYS = 38;

    /// <summary>Whether the kernel has futex_waitv (asked once: a call with no words is EINVAL there, ENOSYS before 5.16).</summary>
    internal static readonly bool IsSupported = Probe();

    /// <summary>Sleeps until one of the <paramref name="count"/> words is woken or differs from its value, or
    /// <paramref name="timeout"/> passes. True when woken or changed (or interrupted), false on timeout.</summary>
    /// <param name="entries">The vector; every address lies in a live mapping or private allocation (caller's SAFETY obligation).</param>
    /// <param name="count">How many entries of <paramref name="entries"/> to wait on (1 to <see cref="MaxWords"/>).</param>
    /// <param name="timeout">Relative timeout, turned into an absolute CLOCK_MONOTONIC deadline.</param>
    internal static bool Wait(FutexWaitvEntry* entries, int count, TimeSpan timeout)
    {
        Timespec now;
        if (ClockGetTime(ClockMonotonic, &now) != 0)
        {
            throw new InvalidOperationException($"clock_gettime(CLOCK_MONOTONIC) failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        long nanoseconds = now.Nanoseconds + (timeout.Ticks % TimeSpan.TicksPerSecond * 100);
        var deadline = new Timespec
        {
            Seconds = now.Seconds + (timeout.Ticks / TimeSpan.TicksPerSecond) + (nanoseconds / 1_000_000_000),
            Nanoseconds = nanoseconds % 1_000_000_000,
        };

        // SAFETY: the kernel reads `count` entries from `entries` and the words they name (caller's obligation);
        // `deadline` lives on this stack frame.
        long rc = Syscall5(SysFutexWaitv, entries, count, 0, &deadline, ClockMonotonic);
        if (rc >= 0)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            LibC.ETIMEDOUT => false,
            LibC.EAGAIN or LibC.EINTR => true,
            _ => throw new InvalidOperationException($"futex_waitv failed with errno {errno}."),
        };
    }

    private static bool Probe()
    {
        long rc = Syscall5(SysFutexWaitv, null, 0, 0, null, ClockMonotonic);
        int errno = Marshal.GetLastPInvokeError();
        return rc >= 0 || errno != ENOSYS; // EINVAL (no words) where it exists
    }

    /// <summary>syscall(2) with five integer arguments (see LibC.Syscall6 on the variadic call).</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall5(long number, void* a1, long a2, long a3, Timespec* a4, long a5);

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clock, Timespec* time);
}
