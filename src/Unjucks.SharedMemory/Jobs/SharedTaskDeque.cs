// Bounded Chase-Lev work-stealing deque of 64-bit task ids in shared memory, usable across processes.
//
// References
//   D. Chase, Y. Lev, "Dynamic circular work-stealing deque", SPAA 2005 (the algorithm).
//   N. M. Lê, A. Pop, A. Cohen, F. Zappa Nardelli, "Correct and efficient work-stealing for weak memory
//   models", PPoPP 2013 (the fences: push = release store of bottom; take = store bottom, SEQ_CST fence,
//   load top; steal = acquire load of top, SEQ_CST fence, acquire load of bottom, CAS top).
//   The ring never grows (fixed capacity in the mapping), so the paper's resize path does not exist here:
//   Push reports "full" instead.
//
// Fences in .NET terms (every one is commented where it is used):
//   - Volatile.Read/Write are acquire/release. Interlocked.* and Interlocked.MemoryBarrier are full fences.
//   - TryPop publishes its decrement of bottom with Interlocked.Exchange (a full fence: store bottom, then
//     load top) and steal issues Interlocked.MemoryBarrier between its loads of top and bottom. These are the
//     two SEQ_CST fences of Lê et al.; without them the owner and a thief could both take the last item.
//
// Why the same fences work across processes
//   The block lives in a MAP_SHARED mapping: every process maps the same physical pages, so a 64-bit word at
//   one physical address is one memory location for the hardware, whatever virtual address each process
//   sees it at. Cache coherence (x86-TSO, ARMv8 multi-copy-atomic coherent memory) is a property of
//   physical memory, not of address spaces; LOCK CMPXCHG / LDAXR-STLXR (Interlocked) are hardware atomics
//   on that physical line, and MFENCE / DMB ISH (Interlocked.MemoryBarrier) order a core's accesses
//   regardless of which process issued them. The remaining risk is the compiler: the JIT may cache, merge
//   or reorder plain accesses to memory it believes private. Every access to top, bottom and ring slots
//   here goes through Volatile.Read/Write or Interlocked on a ref into the mapping, which the JIT must
//   emit as real, ordered memory operations; no field is read through a plain pointer dereference after
//   initialization. All words are 8-byte aligned (the layout puts them on 128-byte lines), so 64-bit loads
//   and stores are single-copy atomic on x64 and arm64 (no torn ids).
//
// Invariants (t = top, b = bottom, both 64-bit, compared by wrapping difference b - t)
//   I1  0 <= b - t <= capacity outside TryPop; during TryPop b may be one below t (transient "-1").
//   I2  Slots [t, b) hold the queued ids; only the owner writes ring slots, and only slot b (push) or slots
//       at or above b (batch staging), never a slot in [t, b).
//   I3  top only grows, by CAS (thieves, and the owner on the contested path).
//   I4  A batch steal claims n <= MaxStealBatch ids [t, t+n) with ONE CAS top: t -> t+n.
//   I5  The owner takes slot b WITHOUT a CAS only when b - t >= MaxStealBatch for the t it loaded after
//       its full fence; otherwise it takes the FRONT item t by CAS, like a thief. Together with I4 this
//       keeps the owner's uncontested slot outside every range a thief can still claim with top == t.
//       (Plain Chase-Lev pops slot b without a CAS whenever t < b, which is only safe when thieves take one
//       item per CAS; a one-CAS batch [t, t+n) would then race with pops of b in that range. Crossbeam's
//       LIFO flavor avoids this by stealing batches one CAS at a time; here I5 does, at the price of a
//       CAS per pop when 32 or fewer items remain and of FIFO order for those pops.)
//
// Failure windows (owner death; the task table, not the deque, is the source of truth)
//   - Owner dies between decrementing bottom and restoring/finishing TryPop: slot b (the in-flight item) is
//     outside [t, b) and invisible to thieves. SharedTaskStealer.DrainDead returns it as a candidate; if the
//     dead owner had already leased it, the task table's recovery re-queues it instead; duplicates are
//     harmless because a task is leased with a CAS on its state word.
//   - Owner dies inside Push: the slot was written but bottom not published; the id was never queued in
//     this deque (the placer re-places it, see the task table's Recover and QueuedNotIn sweeps).
//   - Thief dies after its CAS won but before publishing its own bottom: the claimed ids are staged in the
//     dead thief's ring above its bottom; DrainDead on the thief's deque does not see them. The coordinator's
//     sweep of Queued tasks (SharedTaskTable.CollectQueued) re-places them; see docs/agent-processes.md.
//   - A preempted thief between its loads and its CAS only makes its own CAS fail (lock-free, no blocking).
using System.Runtime.CompilerServices;

namespace Unjucks.SharedMemory.Jobs;

/// <summary>
/// The owner's handle on a bounded work-stealing deque of task ids in shared memory: <see cref="Push"/>,
/// <see cref="TryPop"/> (newest first) and batch stealing into it. Exactly one thread of one process may use
/// an owner handle for a given deque; other threads and processes use a <see cref="SharedTaskStealer"/>.
/// </summary>
/// <remarks>The handle does not own the memory: whoever mapped it keeps it mapped while handles are in use.</remarks>
public sealed unsafe class SharedTaskDeque
{
    private readonly byte* _base;
    private readonly long _mask;

    /// <summary>Attaches the owner handle to a deque initialized by <see cref="TaskDequeLayout.Initialize"/>.</summary>
    /// <param name="baseAddress">Start of the deque block inside a mapping that outlives this handle.</param>
    /// <exception cref="ArgumentException">The block does not hold an initialized deque.</exception>
    public SharedTaskDeque(byte* baseAddress)
    {
        _base = baseAddress;
        Capacity = ReadCapacity(baseAddress);
        _mask = Capacity - 1;
    }

    /// <summary>Slots in the ring (fixed).</summary>
    public int Capacity { get; }

    /// <summary>Ids queued right now (a snapshot; exact only when no thief is active).</summary>
    public int Count => SnapshotCount(_base);

    /// <summary>A stealer handle on this same deque, for other threads of this process.</summary>
    public SharedTaskStealer AsStealer() => new(_base);

    internal byte* BaseAddress => _base;

    /// <summary>Owner only: queues <paramref name="taskId"/> at the owner's end.</summary>
    /// <returns>False when the deque holds <see cref="Capacity"/> ids (nothing is written).</returns>
    public bool Push(long taskId)
    {
        long b = Volatile.Read(ref Bottom(_base)); // own variable; Volatile keeps every access to the mapping explicit.
        // Acquire: pairs with thieves' CAS on top, so a slot we are about to reuse (index b - capacity) is no
        // longer being claimed by a thief whose CAS succeeded.
        long t = Volatile.Read(ref Top(_base));
        if (b - t >= Capacity)
        {
            return false;
        }

        // Plain-order store of the id into a slot outside [t, b) (I2): no thief reads it as valid until bottom moves.
        Volatile.Write(ref Slot(_base, _mask, b), taskId);
        // Release: publishes the slot written above; pairs with the acquire load of bottom in TrySteal/StealBatch.
        Volatile.Write(ref Bottom(_base), b + 1);
        return true;
    }

    /// <summary>Owner only: takes the newest id (or, when few remain, the oldest; see remarks of the file).</summary>
    public bool TryPop(out long taskId)
    {
        long b = Volatile.Read(ref Bottom(_base)) - 1;
        // Full fence (Lê et al.'s SEQ_CST fence in take): the store of bottom must be visible before we load top;
        // pairs with the MemoryBarrier between the loads of top and bottom in TrySteal/StealBatch (Dekker).
        Interlocked.Exchange(ref Bottom(_base), b);
        long t = Volatile.Read(ref Top(_base)); // acquire: ordered after the fence above.
        long size = b - t; // items other than slot b; wrapping difference.
        if (size < 0)
        {
            // Empty (t == b + 1). Release: restores bottom; pairs with thieves' acquire load of bottom.
            Volatile.Write(ref Bottom(_base), b + 1);
            taskId = 0;
            return false;
        }

        if (size >= TaskDequeLayout.MaxStealBatch)
        {
            // I5: slot b lies outside every range [t, t + MaxStealBatch) a thief can claim while top == t.
            taskId = Volatile.Read(ref Slot(_base, _mask, b));
            return true;
        }

        // Contested zone: claim the front item t with a CAS, like a thief. If it wins, slot b stays queued.
        while (true)
        {
            long item = Volatile.Read(ref Slot(_base, _mask, t));
            // Full fence + CAS: decides between us and every thief holding the same t (pairs with their CAS).
            if (Interlocked.CompareExchange(ref Top(_base), t + 1, t) == t)
            {
                // Release: restores bottom so slot b (and anything between) is visible to thieves again.
                Volatile.Write(ref Bottom(_base), b + 1);
                taskId = item;
                return true;
            }

            t = Volatile.Read(ref Top(_base)); // acquire: the thief that beat us moved top.
            if (b - t < 0)
            {
                // Thieves took everything including slot b (a thief that read bottom before our decrement may
                // take b itself: n <= ceil((b + 1 - t) / 2) keeps t + n <= b + 1). Release: restore bottom == top.
                Volatile.Write(ref Bottom(_base), b + 1);
                taskId = 0;
                return false;
            }
        }
    }

    /// <summary>Owner only: free slots right now (a lower bound while thieves run).</summary>
    internal int FreeSlots()
    {
        long b = Volatile.Read(ref Bottom(_base)); // own variable.
        long t = Volatile.Read(ref Top(_base)); // acquire: pairs with thieves' CAS (slots below t are free).
        long used = b - t;
        return used < 0 ? Capacity : (int)Math.Max(0, Capacity - used);
    }

    /// <summary>Owner only: writes a staged id at counter <paramref name="index"/> (at or above bottom; unpublished).</summary>
    internal void Stage(long index, long taskId) => Volatile.Write(ref Slot(_base, _mask, index), taskId);

    /// <summary>Owner only: the current bottom (the first staging index).</summary>
    internal long OwnerBottom => Volatile.Read(ref Bottom(_base));

    /// <summary>Owner only: publishes <paramref name="count"/> staged ids.</summary>
    internal void PublishStaged(long bottom, int count)
    {
        // Release: publishes the staged slots; pairs with thieves' acquire load of bottom.
        Volatile.Write(ref Bottom(_base), bottom + count);
    }

    internal static int ReadCapacity(byte* baseAddress)
    {
        if (baseAddress == null)
        {
            throw new ArgumentNullException(nameof(baseAddress), "The deque needs the address of mapped memory.");
        }

        // Acquire: pairs with the release store of the capacity at the end of TaskDequeLayout.InitializeAt.
        // SAFETY: the caller passes the start of a mapped deque block (constructor contract); offset 0 is inside it.
        long capacity = Volatile.Read(ref *(long*)(baseAddress + TaskDequeLayout.CapacityOffset));
        if (capacity < TaskDequeLayout.MinCapacity || capacity > TaskDequeLayout.MaxCapacity || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentException(
                $"No initialized task deque at 0x{(nint)baseAddress:X}: its capacity word reads {capacity}. Initialize it with TaskDequeLayout.Initialize first.",
                nameof(baseAddress));
        }

        return (int)capacity;
    }

    internal static int SnapshotCount(byte* baseAddress)
    {
        long t = Volatile.Read(ref Top(baseAddress)); // acquire: load top before bottom, as thieves do.
        long b = Volatile.Read(ref Bottom(baseAddress)); // acquire.
        long n = b - t;
        return n <= 0 ? 0 : (int)Math.Min(n, int.MaxValue);
    }

    // SAFETY (the three accessors): baseAddress is the start of a block laid out by TaskDequeLayout whose
    // mapping outlives the handle (handle contract); offsets are fixed and inside the block; slot indexes are
    // masked into [0, capacity). The refs are only ever used with Volatile/Interlocked.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ref long Top(byte* baseAddress) => ref *(long*)(baseAddress + TaskDequeLayout.TopOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ref long Bottom(byte* baseAddress) => ref *(long*)(baseAddress + TaskDequeLayout.BottomOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ref long Slot(byte* baseAddress, long mask, long index) =>
        ref *((long*)(baseAddress + TaskDequeLayout.RingOffset) + (index & mask));
}
