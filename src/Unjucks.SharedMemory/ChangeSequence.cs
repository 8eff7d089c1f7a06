// The region's change sequence: a 64-bit counter bumped on every successful state change. Waiters park on its low
// 32 bits (a futex word at the counter's own address: Linux on x86_64 and arm64 is little-endian, and +1 always
// changes the low half), so a change is ONE atomic increment; a separate waiter count keeps the futex wake
// syscall off the path when nobody waits.
//
// Lost-wake-up argument: a changer does  counter++ (full fence) ; read waiters.
// A waiter does  waiters++ (full fence) ; v = read counter ; futex_wait(low32(counter), (int)v).
// Either the waiter's read of the counter already sees the change (it returns), or the changer's increment comes
// later: then futex_wait's in-kernel compare fails (EAGAIN), or the changer's waiters read, which follows its
// increment, sees the waiter's earlier increment (store-load, both sides fenced) and issues the wake.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Unjucks.SharedMemory.Layout;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

internal sealed unsafe partial class ChangeSequence
{
    internal static readonly TimeSpan ParkSlice = TimeSpan.FromMilliseconds(50);

    private readonly SharedRegion _region;
    private readonly byte* _section;

    private readonly WaitWord _word;

    internal ChangeSequence(SharedRegion region, byte* section)
    {
        _region = region;
        _section = section;
        // SAFETY: both words lie in this section of the live mapping (see the refs below).
        _word = new WaitWord((int*)Unsafe.AsPointer(ref FutexWord), (int*)Unsafe.AsPointer(ref Waiters), queue: null);
    }

    // SAFETY (all three refs): fixed offsets inside the 256-byte, 128-aligned section of the live mapping; the
    // region checks disposal before handing out this object's methods.
    private ref long Counter => ref Unsafe.AsRef<long>(_section + ChangeSequenceLayout.CounterOffset);

    private ref int FutexWord => ref Unsafe.AsRef<int>(_section + ChangeSequenceLayout.CounterOffset);

    private ref int Waiters => ref Unsafe.AsRef<int>(_section + ChangeSequenceLayout.WaitersOffset);

    internal long Current => Volatile.Read(ref Counter); // acquire: a reader that sees N sees the change that made N

    internal void Bump()
    {
        // Full fence: the state change (released earlier) precedes it, and the waiters read below cannot move above it.
        Interlocked.Increment(ref Counter); // pairs with the acquire load of Counter in Wait / Current
        if (Volatile.Read(ref Waiters) != 0) // pairs with Interlocked.Increment(ref Waiters) in Wait
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
                long current = Current; // acquire; its low half is the value futex_wait compares against
                if (current != lastSeen)
                {
                    return true;
                }

                TimeSpan remaining = SharedRegion.Remaining(timeout, start);
                if (remaining <= TimeSpan.Zero)
                {
                    return false;
                }

                // SAFETY: the futex word lies inside the mapping, kept alive by the blocking guard above.
                Futex.Wait((int*)Unsafe.AsPointer(ref FutexWord), (int)current, remaining < ParkSlice ? remaining : ParkSlice);
            }
        }
        finally
        {
            Interlocked.Decrement(ref Waiters); // full fence; no partner needed (a stale count only costs a wake)
        }
    }

    /// <summary>The async form of <see cref="Wait"/>: parks on the region's waiter thread instead of this one.</summary>
    internal ValueTask<bool> WaitAsync(long lastSeen, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Current != lastSeen)
        {
            return new ValueTask<bool>(true);
        }

        return cancellationToken.IsCancellationRequested
            ? ValueTask.FromCanceled<bool>(cancellationToken)
            : WaitSlowAsync(lastSeen, timeout, cancellationToken);
    }

    /// <summary>Null when the counter moved; else a registered wait that owns one waiter count.</summary>
    private ParkedWait? Park(long lastSeen, CancellationToken token)
    {
        using var guard = _region.EnterBlocking(); // the mapping stays while we touch it (ObjectDisposedException if not)
        // Full fence: the changer's waiters read sees us, or we see its change below (the header's argument).
        Interlocked.Increment(ref Waiters);
        long current = Current; // acquire; its low half is the value the waiter thread compares against
        if (current != lastSeen || token.IsCancellationRequested)
        {
            Interlocked.Decrement(ref Waiters); // full fence; no partner (a stale count only costs a wake)
            token.ThrowIfCancellationRequested();
            return null;
        }

        var wait = new ParkedWait(_word, (int)current);
        _region.Waiter.Register(wait, token); // the wait owns the count now (ParkedWait.Finish gives it back)
        return wait;
    }
}
