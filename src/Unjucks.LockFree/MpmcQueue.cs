// MpmcQueue<T>: an unbounded MPMC queue made of fetch-and-add rings that are reused, linked when one fills.
//
// References:
//   A. Morrison, Y. Afek, "Fast Concurrent Queues for x86 Processors", PPoPP 2013: CRQ, a ring indexed by
//     fetch-and-add with per-slot cycle numbers, and LCRQ, a Michael-Scott list of CRQs where a full or
//     starving ring is closed and a new one linked after it.
//   R. Nikolaev, "A Scalable, Portable, and Memory-Efficient Lock-Free FIFO Queue", DISC 2019 (SCQ): the same
//     structure without double-width CAS, and the argument that a ring reused cycle after cycle needs no
//     memory reclamation.
//   M. Michael, M. Scott, PODC 1996: linking the rings.
//
// Why rings and not FAAArrayQueue's segments (the design before this one): a segment is used once, so the
// queue allocated one segment per 1024 enqueues (17 bytes per pair), and a drained segment cannot be reused
// without an epoch or hazard scheme because a slow thread may still hold it. A CRQ ring is never drained into
// garbage: its slots carry the cycle they belong to, so a ring serves any number of operations as long as the
// backlog fits. A ring is only dropped when it closes (full, or an enqueuer starving), and the next ring is
// twice as large (up to MaxRingSize), so a queue settles on a ring that fits its backlog and then allocates
// nothing. Closed rings are never reused, so there is no ABA on ring references and the GC frees them.
//
// The ring's protocol (tickets, cycles, slot states, closing) is in MpmcQueue.Ring.cs and docs/lockfree.md.
//
// Progress: enqueue is lock-free (an enqueuer that keeps losing tickets closes the ring and links a new one
// with its item already in place). Dequeue has two short waits that ConcurrentQueue<T> and Vyukov's ring also
// have: for an enqueuer between its claim CAS and its publishing store (two plain stores), and, rarely, for an
// operation a full ring of tickets behind that still holds the slot.
using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace Unjucks.LockFree;

/// <summary>
/// An unbounded multi-producer, multi-consumer FIFO queue built for many threads: fetch-and-add indexed rings
/// (Morrison and Afek's LCRQ, without double-width CAS as in Nikolaev's SCQ). Any number of threads may
/// enqueue and dequeue at the same time.
/// </summary>
/// <remarks>
/// <para>Each operation costs one fetch-and-add on a padded counter, plus one compare-and-swap for an
/// enqueue, so throughput under contention stays near the fetch-and-add limit of one cache line instead of
/// collapsing in CAS retry loops. Each producer's items leave in the order that producer enqueued them.</para>
/// <para>Memory: the queue starts with a ring of <see cref="InitialRingSize"/> slots and reuses it for as
/// long as the backlog fits, allocating nothing per operation. When a ring fills, a ring twice as large (at
/// most <see cref="MaxRingSize"/> slots) is linked after it and the old one is dropped once drained; the
/// queue keeps the larger ring afterwards. Only a backlog above <see cref="MaxRingSize"/> items keeps
/// allocating (one ring per <see cref="MaxRingSize"/> enqueues). Dequeued values are cleared at once.</para>
/// <para>Progress: enqueue is lock-free. A dequeuer waits only in two short windows: for an enqueuer
/// between claiming a slot and publishing its item (two plain stores), and, rarely, for an operation a whole
/// ring of tickets behind it that still holds its slot (the same windows as <c>ConcurrentQueue&lt;T&gt;</c>).</para>
/// </remarks>
/// <typeparam name="T">The item type.</typeparam>
public sealed partial class MpmcQueue<T>
{
    /// <summary>The number of slots of a new queue's ring.</summary>
    public const int InitialRingSize = 1024;

    /// <summary>The largest ring a queue grows to (16 bytes a slot for a reference type).</summary>
    public const int MaxRingSize = 1 << 16;

    private readonly int _maxRingSize;
    private readonly long _startTicket;

    // Swung forward by CAS once per ring. Head and tail are read on every operation and written rarely, so they
    // share a line; the hot per-operation counters live padded inside each ring.
    private Ring _head;
    private Ring _tail;

    // Rings allocated after the first (diagnostics and tests); incremented once per allocation, which is rare.
    private long _ringsAllocated;

    /// <summary>Creates an empty queue.</summary>
    public MpmcQueue()
        : this(InitialRingSize, MaxRingSize, 0)
    {
    }

    /// <summary>Test hook: a queue whose rings have <paramref name="ringSize"/> slots (rounded up to a power of
    /// two) and never grow, so that small sizes force ring closes and laps under contention.</summary>
    internal MpmcQueue(int ringSize)
        : this(ringSize, ringSize, 0)
    {
    }

    /// <summary>Test hook: the ring sizes and the first ticket of every ring (to run the counters across
    /// 2^31 and 2^32).</summary>
    internal MpmcQueue(int ringSize, int maxRingSize, long startTicket)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ringSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ringSize, 1 << 30);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRingSize, ringSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxRingSize, 1 << 30);
        ArgumentOutOfRangeException.ThrowIfNegative(startTicket);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(startTicket, 1L << 60);
        _maxRingSize = (int)BitOperations.RoundUpToPowerOf2((uint)maxRingSize);
        _startTicket = startTicket;
        var first = new Ring((int)BitOperations.RoundUpToPowerOf2((uint)ringSize), startTicket);
        _head = first;
        _tail = first;
        // Plain stores: published to other threads by whatever hands them the queue reference.
    }

    /// <summary>
    /// A snapshot: true when no item is in the queue. An item whose enqueue is still in progress may or may
    /// not count; when no operation is in progress the answer is exact.
    /// </summary>
    public bool IsEmpty => CountItems(1) == 0;

    /// <summary>
    /// A snapshot of the number of items. It looks at every slot between the head and the tail (O(items)),
    /// and may be stale by the time it is read: meant for metrics and tests, not for control decisions. When no
    /// operation is in progress it is exact.
    /// </summary>
    public int Count => CountItems(int.MaxValue);

    /// <summary>Test hook: the number of rings from head to tail (1 when head == tail). Acquire loads, like
    /// <see cref="Count"/>; tests call it while no other thread runs.</summary>
    internal int RingCount
    {
        get
        {
            int n = 1;
            for (Ring? r = Volatile.Read(ref _head).Next; r is not null; r = Volatile.Read(ref r.Next))
            {
                n++;
            }

            return n;
        }
    }

    /// <summary>Test hook: how many rings were allocated after the first one (including any that lost the race
    /// to be linked).</summary>
    internal long RingsAllocated => Volatile.Read(ref _ringsAllocated);

    /// <summary>Test hook: the slot count of the tail ring.</summary>
    internal int TailRingSize => Volatile.Read(ref _tail).Capacity;

    /// <summary>Test hook: takes the next enqueue ticket without taking its slot, as an enqueuer preempted
    /// between its fetch-and-add and its CAS would. Returns the ring, opaque to tests.</summary>
    internal object ClaimEnqueueForTest(out long ticket)
    {
        Ring tail = Volatile.Read(ref _tail); // acquire, as in Enqueue
        ticket = Interlocked.Increment(ref tail.Tail.Value) - 1; // the same claim as TryEnqueue
        if ((ticket & ClosedBit) != 0)
        {
            throw new InvalidOperationException("Test hook: the tail ring is closed.");
        }

        return tail;
    }

    /// <summary>Test hook: the second half of an enqueue claimed by <see cref="ClaimEnqueueForTest"/>; false
    /// when the ticket's dequeuer poisoned the slot meanwhile (Enqueue would then take another ticket).</summary>
    internal bool PublishEnqueueForTest(object ring, long ticket, T item)
    {
        var r = (Ring)ring;
        ref Slot slot = ref r.Slots[ticket & r.Mask];
        long cycle = ticket >> r.Shift;
        // The same full-fence CAS and release store as TryEnqueue.
        if (Interlocked.CompareExchange(ref slot.Word, Word(cycle, Busy), Word(cycle, Free)) != Word(cycle, Free))
        {
            return false;
        }

        slot.Value = item;
        Volatile.Write(ref slot.Word, Word(cycle, Full));
        return true;
    }

    /// <summary>Test hook: takes the next dequeue ticket of the head ring without resolving it, as a dequeuer
    /// preempted between its fetch-and-add and its look at the slot would. Returns the ring, opaque to tests.</summary>
    internal object ClaimDequeueForTest(out long ticket)
    {
        Ring head = Volatile.Read(ref _head); // acquire, as in TryDequeue
        ticket = Interlocked.Increment(ref head.Head.Value) - 1; // the same claim as the ring's TryDequeue
        return head;
    }

    /// <summary>Test hook: the second half of a dequeue claimed by <see cref="ClaimDequeueForTest"/>; false when
    /// the ticket carried no item (as TryDequeue would then take another ticket).</summary>
    internal bool FinishDequeueForTest(object ring, long ticket, [MaybeNullWhen(false)] out T item) => ((Ring)ring).TryTake(ticket, out item!);

    /// <summary>Adds <paramref name="item"/> at the tail. Never fails; allocates only when the backlog
    /// outgrows the ring.</summary>
    /// <param name="item">The item to add.</param>
    public void Enqueue(T item)
    {
        Ring? spare = null; // a ring we allocated but failed to link: private, reused on the next try
        while (true)
        {
            // Acquire: pairs with the CAS that swung _tail (and the CAS that linked the ring), so the ring's
            // slots and counters are visible.
            Ring tail = Volatile.Read(ref _tail);
            if (tail.TryEnqueue(item, out bool closedHere))
            {
                return;
            }

            // The ring is closed. Acquire: pairs with the CAS that links Next.
            Ring? next = Volatile.Read(ref tail.Next);
            if (next is null && !closedHere)
            {
                // The thread that closed it is about to link the next ring; wait for it briefly (spinning
                // only) rather than allocate a ring that would probably lose the race. If it is slow
                // (preempted), allocate anyway: no enqueuer depends on another one.
                var wait = new Backoff();
                while (!wait.NextSpinWillYield && (next = Volatile.Read(ref tail.Next)) is null)
                {
                    wait.Spin(); // acquire load above, same pairing
                }
            }

            if (next is null)
            {
                Ring ring = spare ?? NewRing(Math.Min(tail.Capacity * 2, _maxRingSize));
                spare = null;
                ring.PlaceFirst(item);
                // Full-fence CAS: publishes the new ring's contents (plain stores) before its reference; pairs
                // with the acquire loads of Next.
                if (Interlocked.CompareExchange(ref tail.Next, ring, null) is null)
                {
                    // Swing the tail; if this fails another thread already helped.
                    Interlocked.CompareExchange(ref _tail, ring, tail);
                    return;
                }

                // Lost the race: no other thread has seen this ring, so keep it for a later try.
                ring.UndoFirst();
                spare = ring;
                next = Volatile.Read(ref tail.Next); // acquire, same pairing; non-null now
            }

            // Help swing the tail (full-fence CAS; failure means someone else did).
            Interlocked.CompareExchange(ref _tail, next!, tail);
        }
    }

    /// <summary>Removes the item at the head, if there is one.</summary>
    /// <param name="item">The removed item, or the default value when the queue was empty.</param>
    /// <returns>True when an item was removed; false when the queue was empty.</returns>
    public bool TryDequeue([MaybeNullWhen(false)] out T item)
    {
        while (true)
        {
            // Acquire: pairs with the CAS that swung _head.
            Ring head = Volatile.Read(ref _head);
            if (head.TryDequeue(out item))
            {
                return true;
            }

            // Acquire: pairs with the CAS that linked Next.
            Ring? next = Volatile.Read(ref head.Next);
            if (next is null)
            {
                return false;
            }

            // Next is linked only after head was closed, so this second look reads the closed Tail and its
            // boundary: false now means every ticket of head that can carry an item has a dequeuer, and the
            // rest of the queue is in later rings (LCRQ does the same).
            if (head.TryDequeue(out item))
            {
                return true;
            }

            // Swing the head (full-fence CAS; failure means someone else did). The old ring is garbage once
            // the threads still inside it leave.
            Interlocked.CompareExchange(ref _head, next, head);
        }
    }

    private Ring NewRing(int capacity)
    {
        Interlocked.Increment(ref _ringsAllocated); // atomicity only: a diagnostic count
        return new Ring(capacity, _startTicket);
    }

    private int CountItems(int stopAt)
    {
        long count = 0;
        // Acquire loads throughout (in the ring too); they pair with the CAS that swung _head or linked Next.
        for (Ring? ring = Volatile.Read(ref _head); ring is not null && count < stopAt; ring = Volatile.Read(ref ring.Next))
        {
            count += ring.CountItems(stopAt);
        }

        return (int)Math.Min(count, int.MaxValue);
    }
}
