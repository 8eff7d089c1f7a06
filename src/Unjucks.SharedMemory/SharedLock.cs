// SharedLock: a named cross-process mutex whose owner word is a futex word in the region.
//
// Owner word (32 bits): 0 = free, otherwise the holder's agent id ((slot + 1) | (generation & 0xFFFF) << 16), so
// the word names a registration, not just a slot: a slot re-registered by another process does not inherit locks.
// Acquire: CAS 0 -> me; on failure spin briefly, then register as a waiter and park on the owner word in slices of
// at most 20 ms. Before the first park, and after every park that timed out, the waiter asks the registry whether
// the owner is alive (flock on the owner's agent lock file, then kill(pid, 0) + /proc start time); a dead owner's
// word is taken over with a CAS from its exact value and the new handle reports PreviousOwnerDied, like
// AbandonedMutexException. So a dead owner's lock passes on at once, or within one 20 ms slice for a waiter that
// was already parked when the owner died.
// Release: CAS me -> 0 (full fence), then wake one waiter only if the waiter count is non-zero.
// Lost-wake-up argument: releaser  owner = 0 ; fence ; read waiters  /  waiter  waiters++ ; fence ; read owner ;
// futex_wait(owner, value read): either the releaser sees the waiter, or the waiter sees 0 (or the kernel's
// compare fails). Failure window: an owner that re-acquires with the same id between a waiter's read and its park
// can make that waiter sleep until the next release or the end of its 20 ms slice.
// Re-entrancy: the same agent and thread acquiring again gets LockRecursionException; another thread of the same
// agent (same region instance) waits like any other process.
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Unjucks.SharedMemory.Layout;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

/// <summary>
/// A named mutex shared by every process that opens the region. If the holder dies, the next acquirer gets the
/// lock and is told through <see cref="SharedLockHandle.PreviousOwnerDied"/>. Not re-entrant.
/// </summary>
public sealed unsafe class SharedLock
{
    private static readonly TimeSpan ParkSlice = TimeSpan.FromMilliseconds(20);

    private readonly SharedRegion _region;
    private readonly byte* _entry;
    private int _holderThread;

    internal SharedLock(SharedRegion region, string name, byte* entry)
    {
        _region = region;
        Name = name;
        _entry = entry;
    }

    /// <summary>The lock's name.</summary>
    public string Name { get; }

    /// <summary>True if some agent holds the lock right now (a snapshot).</summary>
    public bool IsHeld
    {
        get
        {
            _region.ThrowIfDisposed();
            return Volatile.Read(ref Owner) != 0; // acquire; a snapshot only
        }
    }

    /// <summary>Number of futex parks the last blocking acquire of this instance needed (tests observe it).</summary>
    internal int LastAcquireParks { get; private set; }

    // SAFETY (both refs): fixed offsets in this lock's 128-byte directory entry inside the live mapping.
    private ref int Owner => ref Unsafe.AsRef<int>(_entry + DirectoryEntryLayout.LockOwnerOffset);

    private ref int Waiters => ref Unsafe.AsRef<int>(_entry + DirectoryEntryLayout.LockWaitersOffset);

    /// <summary>
    /// Acquires the lock, waiting up to <paramref name="timeout"/>. Throws <see cref="TimeoutException"/> on
    /// timeout, <see cref="OperationCanceledException"/> on cancellation and <see cref="LockRecursionException"/>
    /// if this thread already holds it through this region.
    /// </summary>
    public SharedLockHandle Acquire(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        SharedRegion.CheckTimeout(timeout);
        _region.ThrowIfDisposed();
        int me = _region.Agents.CurrentAgentId;
        if (TryTakeFree(me, out SharedLockHandle? handle))
        {
            LastAcquireParks = 0;
            return handle;
        }

        ThrowIfRecursive(me);
        for (int i = 0; i < 64; i++)
        {
            Thread.SpinWait(8);
            if (TryTakeFree(me, out handle))
            {
                LastAcquireParks = 0;
                return handle;
            }
        }

        long start = Stopwatch.GetTimestamp();
        int parks = 0;
        bool probe = true; // probe the holder's liveness now, and again after every park that timed out
        using var guard = _region.EnterBlocking();
        Interlocked.Increment(ref Waiters); // full fence: the releaser's waiters read sees us, or we see its release
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _region.ThrowIfDisposed();
                int holder = Volatile.Read(ref Owner); // acquire: pairs with the releasing CAS
                if (holder == 0)
                {
                    if (TryTakeFree(me, out handle))
                    {
                        LastAcquireParks = parks;
                        return handle;
                    }

                    continue;
                }

                if (probe && !_region.Agents.IsAgentAlive(holder))
                {
                    // Full-fence CAS from the dead owner's exact id: one taker wins, a live newcomer is never robbed.
                    if (Interlocked.CompareExchange(ref Owner, me, holder) == holder)
                    {
                        LastAcquireParks = parks;
                        return Granted(me, previousOwnerDied: true);
                    }

                    continue;
                }

                TimeSpan remaining = SharedRegion.Remaining(timeout, start);
                if (remaining <= TimeSpan.Zero)
                {
                    AgentInfo info = _region.Agents.GetInfo(AgentIds.Slot(holder));
                    throw new TimeoutException(
                        $"Could not acquire shared lock '{Name}' within {timeout.TotalMilliseconds:0} ms; it is held by agent slot {info.Slot} (pid {info.ProcessId}), which is alive.");
                }

                // A liveness probe costs several syscalls, so a hand-over between live agents (which wakes us) does
                // not probe; only a holder that kept the lock for a whole slice is probed again.
                // SAFETY: the owner word lies inside the mapping, kept alive by the blocking guard.
                probe = Futex.Wait((int*)Unsafe.AsPointer(ref Owner), holder, remaining < ParkSlice ? remaining : ParkSlice)
                    == Futex.WaitResult.TimedOut;
                parks++;
            }
        }
        finally
        {
            Interlocked.Decrement(ref Waiters); // full fence; a stale count only costs a wake syscall
        }
    }

    /// <summary>
    /// Takes the lock if it is free or its owner is dead; false if a live agent holds it. Throws
    /// <see cref="LockRecursionException"/> if this thread already holds it through this region.
    /// </summary>
    public bool TryAcquire([NotNullWhen(true)] out SharedLockHandle? handle)
    {
        _region.ThrowIfDisposed();
        int me = _region.Agents.CurrentAgentId;
        if (TryTakeFree(me, out handle))
        {
            return true;
        }

        ThrowIfRecursive(me);
        int holder = Volatile.Read(ref Owner); // acquire: pairs with the releasing CAS
        if (holder != 0 && !_region.Agents.IsAgentAlive(holder)
            && Interlocked.CompareExchange(ref Owner, me, holder) == holder) // full fence; one taker wins
        {
            handle = Granted(me, previousOwnerDied: true);
            return true;
        }

        handle = null;
        return false;
    }

    internal void Release(int me)
    {
        _region.ThrowIfDisposed();
        Volatile.Write(ref _holderThread, 0); // before the owner word: a new holder's thread id is never erased
        // Full fence CAS: the protected writes happen-before the next acquirer's CAS, and the waiters read below
        // cannot move above the release.
        if (Interlocked.CompareExchange(ref Owner, 0, me) != me)
        {
            throw new SynchronizationLockException(
                $"Shared lock '{Name}' was no longer held by this agent when released: another process took it over, believing this agent dead. The protected data may be inconsistent.");
        }

        if (Volatile.Read(ref Waiters) != 0) // pairs with Interlocked.Increment(ref Waiters) in Acquire
        {
            Futex.Wake((int*)Unsafe.AsPointer(ref Owner), 1); // SAFETY: the owner word lies inside the live mapping
        }
    }

    private bool TryTakeFree(int me, [NotNullWhen(true)] out SharedLockHandle? handle)
    {
        // Full-fence CAS: acquires the lock; pairs with the releasing CAS in Release.
        if (Volatile.Read(ref Owner) == 0 && Interlocked.CompareExchange(ref Owner, me, 0) == 0)
        {
            handle = Granted(me, previousOwnerDied: false);
            return true;
        }

        handle = null;
        return false;
    }

    private SharedLockHandle Granted(int me, bool previousOwnerDied)
    {
        Volatile.Write(ref _holderThread, Environment.CurrentManagedThreadId); // read by ThrowIfRecursive
        return new SharedLockHandle(this, me, previousOwnerDied);
    }

    private void ThrowIfRecursive(int me)
    {
        // Acquire loads; _holderThread pairs with the release in Granted (same process, written by this thread).
        if (Volatile.Read(ref Owner) == me && Volatile.Read(ref _holderThread) == Environment.CurrentManagedThreadId)
        {
            throw new LockRecursionException(
                $"This thread already holds shared lock '{Name}'; SharedLock is not re-entrant. Dispose the first SharedLockHandle before acquiring again.");
        }
    }
}

/// <summary>Proof of holding a <see cref="SharedLock"/>; Dispose releases it.</summary>
public sealed class SharedLockHandle : IDisposable
{
    private readonly SharedLock _lock;
    private readonly int _owner;
    private int _released;

    internal SharedLockHandle(SharedLock sharedLock, int owner, bool previousOwnerDied)
    {
        _lock = sharedLock;
        _owner = owner;
        PreviousOwnerDied = previousOwnerDied;
    }

    /// <summary>
    /// True if the lock was taken over from a process that died holding it: the data the lock protects may be
    /// inconsistent.
    /// </summary>
    public bool PreviousOwnerDied { get; }

    /// <summary>Releases the lock (once; later calls do nothing).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) // full fence; makes a double Dispose release only once
        {
            _lock.Release(_owner);
        }
    }
}
