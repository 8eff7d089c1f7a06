// The region's change sequence: a 64-bit counter bumped on every successful state change, plus a 32-bit futex
// word (bumped right after the counter) that waiters park on, plus a waiter count so that a change does not make
// a futex syscall when nobody waits.
//
// Lost-wake-up argument: a changer does  counter++ ; futex++ ; read waiters  (all full-fence RMWs / ordered).
// A waiter does  waiters++ (full fence) ; f = read futex ; read counter ; futex_wait(futex, f).
// If the waiter's counter read misses the change, its read of f preceded the changer's futex++, so the kernel's
// compare in futex_wait fails (EAGAIN) or the changer, whose waiters read follows its futex++ and therefore sees
// the waiter's increment (store-load, both sides fenced), issues the wake.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Unjucks.SharedMemory.Layout;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

internal sealed unsafe class ChangeSequence
{
    internal static readonly TimeSpan ParkSlice = TimeSpan.FromMilliseconds(50);

    private readonly SharedRegion _region;
    private readonly byte* _section;

    internal ChangeSequence(SharedRegion region, byte* section)
    {
        _region = region;
        _section = section;
    }

    // SAFETY (all three refs): fixed offsets inside the 256-byte, 128-aligned section of the live mapping; the
    // region checks disposal before handing out this object's methods.
    private ref long Counter => ref Unsafe.AsRef<long>(_section + ChangeSequenceLayout.CounterOffset);

    private ref int FutexWord => ref Unsafe.AsRef<int>(_section + ChangeSequenceLayout.FutexOffset);

    private ref int Waiters => ref Unsafe.AsRef<int>(_section + ChangeSequenceLayout.WaitersOffset);

    internal long Current => Volatile.Read(ref Counter); // acquire: a reader that sees N sees the change that made N

    internal void Bump()
    {
        Interlocked.Increment(ref Counter);   // full fence: the state change (released earlier) precedes it
        Interlocked.Increment(ref FutexWord); // full fence: orders the futex bump before the waiters read below
        if (Volatile.Read(ref Waiters) != 0)  // pairs with Interlocked.Increment(ref Waiters) in Wait
        {
            // SAFETY: the futex word lies inside the live mapping.
            Futex.Wake((int*)Unsafe.AsPointer(ref FutexWord), int.MaxValue);
        }
    }

    internal bool Wait(long lastSeen, TimeSpan timeout, CancellationToken cancellationToken)
    {
        SharedRegion.CheckTimeout(timeout);
        if (Current != lastSeen)
        {
            return true;
        }

        var spinner = new SpinWait();
        for (int i = 0; i < 20; i++)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
            if (Current != lastSeen)
            {
                return true;
            }
        }

        long start = Stopwatch.GetTimestamp();
        using var guard = _region.EnterBlocking();
        Interlocked.Increment(ref Waiters); // full fence: the changer's waiters read sees us, or we see its change
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _region.ThrowIfDisposed();
                int observed = Volatile.Read(ref FutexWord); // acquire: read BEFORE re-checking the counter
                if (Current != lastSeen)
                {
                    return true;
                }

                TimeSpan remaining = SharedRegion.Remaining(timeout, start);
                if (remaining <= TimeSpan.Zero)
                {
                    return false;
                }

                // SAFETY: the futex word lies inside the mapping, kept alive by the blocking guard above.
                Futex.Wait((int*)Unsafe.AsPointer(ref FutexWord), observed, remaining < ParkSlice ? remaining : ParkSlice);
            }
        }
        finally
        {
            Interlocked.Decrement(ref Waiters); // full fence; no partner needed (a stale count only costs a wake)
        }
    }
}
